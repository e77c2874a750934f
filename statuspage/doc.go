// Package statuspage owns arangoscale's human status page at "/": every
// cluster and role with its counts, signals against their targets, the
// last decisions with their reasons, the scale-down saga, backoff and
// errors, and an SVG plot of the last hours of instances and load.
//
// The page is rendered on the server (html/template, embedded stylesheet,
// no script and no build step) from a func returning controller.Status, so
// the controller itself stays free of HTML. The plot and the decision list
// come from a History sampled from that Status every interval, bounded in
// memory whatever the uptime.
//
// The page is reached directly and through the DC/OS admin router at
// /service/<name>/: every link is relative, and an X-Forwarded-Prefix
// header sets the base the links resolve against.
package statuspage
