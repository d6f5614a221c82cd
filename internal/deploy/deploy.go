// Package deploy names what the CDK stack (infra/stack) and the code running in the
// Lambda functions must agree on: the functions, and the environment variables the stack
// sets and internal/setup and internal/console read. They are defined here once, as
// events/ does for the events, so the two sides cannot drift. Local mode reads the same
// variables for the settings they share.
package deploy

// The functions, each built from its folder under functions/ (`make build` derives its
// list from those folders; TestFunctionsAreTheFolders holds the two together) into
// dist/functions/<name>/bootstrap.
const (
	Invitation = "invitation" // technician routes and the console
	Pairing    = "pairing"    // the app's routes and the join page
	Expiry     = "expiry"     // one-time schedules and the 5-minute sweep
	Live       = "live"       // the live channel: WebSocket authorizer, routes and messages
)

// Functions lists every function the stack deploys.
var Functions = []string{Invitation, Pairing, Expiry, Live}

// AppKeyPrefix is where the stack uploads the Windows app build (dist/agent/ becomes
// agent/ in the app bucket) and the pairing function finds it; only it is readable by
// pairing.
const AppKeyPrefix = "agent/"

// The product's settings (internal/setup.Settings; local mode reads them too). Durations
// are Go durations ("24h", "90s"); a value present but malformed stops the function at
// start.
const (
	EnvSessionTTL      = "SESSION_TTL"           // how long an active session lasts
	EnvInviteTTL       = "INVITE_TTL"            // how long an invitation stays open
	EnvPollPending     = "POLL_INTERVAL_PENDING" // how often the app polls before pairing
	EnvPollActive      = "POLL_INTERVAL_ACTIVE"  // how often an active session's app polls
	EnvPollLive        = "POLL_INTERVAL_LIVE"    // the safety poll while the app's live connection is open
	EnvDefaultSlots    = "DEFAULT_SLOTS"         // licensed slots of an account never configured
	EnvDefaultCap      = "DEFAULT_ADHOC_CAP"     // concurrent ad-hoc sessions of such an account
	EnvHiddenUsername  = "HIDDEN_USERNAME"       // the hidden administrator account's name on the PC
	EnvPublicBaseURL   = "PUBLIC_BASE_URL"       // the API's URL without a trailing slash (join links)
	EnvLookupGrace     = "LOOKUP_GRACE"          // how long lookups outlive their session
	EnvLiveURL         = "LIVE_URL"              // the live stage's wss:// URL, told to the app and consoles
	EnvLiveEndpoint    = "LIVE_ENDPOINT"         // the live stage's https:// URL, where @connections answers
	EnvTableName       = "TABLE_NAME"            // the DynamoDB table
	EnvEventBusName    = "EVENT_BUS_NAME"        // the custom EventBridge bus
	EnvScheduleGroup   = "SCHEDULE_GROUP"        // the Scheduler group of the one-time expiry schedules
	EnvSchedulerRole   = "SCHEDULER_ROLE_ARN"    // the role the schedules run as (may only invoke expiry)
	EnvExpiryFunction  = "EXPIRY_FUNCTION_ARN"   // the schedules' target
	EnvExpiryDLQ       = "EXPIRY_DLQ_ARN"        // the schedules' dead-letter queue
	EnvPasswordKey     = "KMS_KEY_ID"            // the password's KMS key (ARN): GenerateDataKey, Decrypt
	EnvMACKey          = "MAC_KEY_ID"            // the security code's HMAC_256 KMS key (ARN): GenerateMac
	EnvMailFrom        = "MAIL_FROM"             // the invitation mail's sender (an SES identity)
	EnvMailConfigSet   = "SES_CONFIGURATION_SET" // the SES configuration set of every mail
	EnvAppBucket       = "APP_BUCKET"            // the bucket of the Windows app (dist/agent/ under agent/)
	EnvAuthBaseURL     = "AUTH_BASE_URL"         // Cognito hosted sign-in, e.g. https://p.auth.r.amazoncognito.com
	EnvUserPoolID      = "USER_POOL_ID"          // the user pool, for operators reading the function's settings
	EnvUserPoolClient  = "USER_POOL_CLIENT_ID"   // the console's public OAuth client (code + PKCE)
	EnvConsoleRedirect = "CONSOLE_REDIRECT_URI"  // optional: where the hosted UI sends the technician back
	EnvConsoleLogout   = "CONSOLE_LOGOUT_URI"    // optional: where its logout sends the technician
	EnvKVSChannels     = "KVS_CHANNEL_PREFIX"    // remote access's KVS signalling channels: <prefix>-<account hash>
)

// KVSChannelHashLen is how many characters (hex) of the account's hash follow the prefix
// and a hyphen in the name of its KVS signalling channel: the stack's grant matches exactly
// that many after the prefix, so the channels of another stack whose name merely begins
// with this one's are not covered.
const KVSChannelHashLen = 24
