// Package marathon owns arangoscale's access to Marathon: app state (with
// tasks and versionInfo.lastScalingAt), scaling an app, killing exact tasks
// with scale=true, deployments, the launch queue, and DC/OS authentication
// (a fixed ACS token or a service-account login, refreshed on 401).
//
// It wraps github.com/gambol99/go-marathon v0.7.1 and hides its traps:
//
//   - go-marathon has no context support. Every call here runs on its own
//     short-lived go-marathon client whose http.Client carries a transport
//     bound to the call's context, so cancellation and deadlines reach the
//     socket.
//   - One 5xx or transport error makes go-marathon mark its (only) host
//     down and fail every later call with ErrMarathonDown until a
//     background /ping, retried every 5 s, succeeds. Because each call has
//     its own client, that state never outlives the call; the real cause
//     (status and body, or the transport error) is recorded by the call's
//     transport and returned as ErrUnavailable, and the /ping recheck is
//     answered locally once the call is over so its goroutine ends.
//   - KillTask derives the app id by splitting the task id on '.', which
//     breaks on Marathon ≥ 1.8 ids; KillTasks uses the bulk
//     POST /v2/tasks/delete instead.
//   - A 409 is only typed as locked by go-marathon when the body lists
//     deployments; here the status decides (ErrLocked).
//   - Its Application type decodes env as map[string]string, so any app
//     with a secret env var ({"secret": …}) fails to decode, and its Queue
//     type has no since/processedOffersSummary: App and Queue use this
//     package's own GET and decoding.
//
// # Fields read from Marathon, and where they are defined
//
// Types are Marathon's RAML (mesosphere/marathon
// docs/docs/rest-api/public/api/v2/types, copied in sim/dcos/testdata/raml);
// the last column names the real upstream samples each decoder is tested
// on (testdata/SOURCES.md).
//
//	endpoint                 field                                      RAML type                           sample
//	GET /v2/apps/{id}        app.id, instances, cpus, mem, disk, labels  app.raml App                        marathon-lb_marathon15_apps.json,
//	  ?embed=app.tasks,…     app.healthChecks (only whether any)         app.raml App                        v1.10_raml_example_app.json,
//	                         app.version                                 App.version: datetime               v1.3.6_doc_get_app_with_tasks_deployments.jsonc
//	                         app.versionInfo.lastScalingAt               versionInfo.raml VersionInfo
//	                         app.deployments[].id                        AppInfo.deployments: Identifiable[]
//	                         app.tasksStaged/Running/Healthy/Unhealthy   AppInfo (embed app.counts)
//	                         app.tasks[].id, appId, host, ports          task.raml Task
//	                         app.tasks[].slaveId                         Task.slaveId (Marathon never sends agentId)
//	                         app.tasks[].state                           Task.state: MesosTaskState
//	                         app.tasks[].startedAt                       Task.startedAt
//	                         app.tasks[].healthCheckResults[].alive      healthCheck.raml Health
//	GET /v2/queue            queue[].app.id | queue[].pod.id, count      queue.raml QueueApp | QueuePod      v1.10_raml_example_queue.json,
//	                         delay.overdue, since                        QueueDelay, QueueObject.since       v1.3.6_doc_get_queue.json
//	                         processedOffersSummary.rejectSummaryLastOffers[].reason, declined
//	                                                                     ProcessedOffersSummary, DeclinedOfferStep
//	                         lastUnusedOffers[].reason                   UnusedOffer.reason: string[]
//	GET /v2/deployments      id, affectedApps, currentStep, totalSteps,  deploymentEventsInfo.raml           v1.10_raml_example_deployments.json,
//	  (go-marathon)          version                                     DeploymentStepInfo                  v1.3.6_doc_get_deployments.json
//	PUT /v2/apps/{id}        deploymentId, version                       deploymentResult.raml               v1.10_raml_example_deployments_result.json
//	POST /v2/tasks/delete    the status only                             tasks.raml
//	error bodies             message; deployments[].id on 409            error.raml Error, plus deployments  v1.3.6_doc_put_app_409_locked.json,
//	                                                                     (MarathonExceptionMapper)           apps_raml_409_short.json
//	POST /acs/api/v1/auth/login  token                                   DC/OS IAM login API
//
// The emulated Marathon (sim/dcos) is checked against the same RAML
// (sim/dcos/conform_test.go), so the controller cannot come to rely on a
// field real Marathon does not send.
package marathon
