// Package grants lists the AWS actions each Lambda function's code calls, besides DynamoDB,
// CloudWatch Logs and X-Ray: KMS, EventBridge, EventBridge Scheduler, SES, S3, Kinesis Video
// Streams (remote access's TURN) and the live channel's @connections
// (execute-api:ManageConnections). It is the
// one place both sides read: infra/stack grants exactly these actions (TestGrants checks
// the synthesized policies against this table), and the emulator test in
// internal/testing/lambdatest runs each real bootstrap against a fake that refuses any other call.
// A call the code makes without a grant thus fails in `make test`, not after a deployment.
package grants

import (
	"slices"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
)

// ManageConnections is what posting to, closing and describing a live connection needs
// (POST, DELETE and GET /@connections/{id}). Every function that commits a session change
// pushes it to the live connections right after the commit, so all four have it.
const ManageConnections = "execute-api:ManageConnections"

// Actions by function (deploy.Functions), in IAM's service:Action form, sorted.
var Actions = map[string][]string{
	// Sealing the password (data key), the code's MAC, events, the invitation's schedule,
	// the mail, and the TURN servers of a remote connection: the account's KVS signalling
	// channel (found, or made on first use, and its HTTPS endpoint) and its ICE servers.
	deploy.Invitation: {
		"events:PutEvents",
		ManageConnections,
		"kinesisvideo:CreateSignalingChannel", "kinesisvideo:DescribeSignalingChannel",
		"kinesisvideo:GetIceServerConfig", "kinesisvideo:GetSignalingChannelEndpoint",
		"kms:GenerateDataKey", "kms:GenerateMac",
		"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:UpdateSchedule",
		"ses:SendEmail",
	},
	// Opening the password, sealing the agent token for a retried pairing (data key), the
	// code's MAC, events, moving the schedule from the invitation to the session, the app
	// download (a presigned GET and the HeadObject that checks for the build).
	deploy.Pairing: {
		"events:PutEvents",
		ManageConnections,
		"kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateMac",
		"s3:GetObject",
		"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:UpdateSchedule",
	},
	// Events, and deleting a session's schedules when it ends.
	deploy.Expiry: {
		"events:PutEvents",
		ManageConnections,
		"scheduler:DeleteSchedule",
	},
	// The answers to messages (pong, errors) and the pushes after a commit. The app's
	// $connect may find its session overdue and expire it, which publishes the event and
	// deletes the session's schedules; no KMS, no SES.
	deploy.Live: {
		"events:PutEvents",
		ManageConnections,
		"scheduler:DeleteSchedule",
	},
}

// Allowed reports whether fn's code may call action ("kms:Decrypt").
func Allowed(fn, action string) bool {
	return slices.Contains(Actions[fn], action)
}
