// Package discovery finds ArangoDB clusters by their Marathon labels and
// scales them with a template of the policy file.
//
// Every interval it lists the Marathon apps labelled arangoscale.policy
// (GET /v2/apps?label=arangoscale.policy). Marathon groups have no labels
// (GroupInfo, groups.raml), so a cluster's group is found by its labelled
// apps. Each such app is one role of a cluster:
//
//   - arangoscale.policy=<template>: the policy template (required);
//   - arangoscale.cluster=<name>: the cluster's name; default the app's
//     group without an "arangodb-" prefix (/arangodb-shop/coordinator → shop);
//   - arangoscale.role=coordinators|dbservers: the role; default from the
//     app id's last segment (coordinator, coordinators, dbserver, dbservers);
//     agents (agent, agency) are never scaled and are skipped;
//   - arangoscale.endpoint=<url>[,<url>…] on the coordinators: where
//     ArangoDB answers, e.g. the Mesos-DNS or VIP name
//     http://arangodb-shop-coordinator.marathon.l4lb.thisdcos.directory:8529;
//     default http://host:port of the running coordinator tasks.
//
// The effective policy is the file's clusters, which take precedence by
// name and by app, plus the discovered ones; the controller gets it only
// when it changed, so clusters that stay keep their history and clusters
// whose apps disappear stop and lose their series. A label naming an
// unknown template or an incomplete cluster is reported (status, metric,
// log) and that cluster is left out; it never stops the others. When
// Marathon cannot be listed, the clusters found before stay.
package discovery
