package policy

// Schedule time zones must resolve on hosts and images without a system
// zoneinfo database, so the database is embedded.
import _ "time/tzdata"
