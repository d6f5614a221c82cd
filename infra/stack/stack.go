// Package stack is the whole product as one CloudFormation stack (DESIGN.md, "Runtime
// pieces"): the table, the four functions, the HTTP API with its Cognito sign-in, the live
// channel's WebSocket API, the EventBridge bus and sweep rule, the Scheduler group, SES,
// KMS, the app bucket, and the alarms. The functions' binaries are built beforehand
// (`make build`); the stack only points at them, so synthesizing never compiles anything.
package stack

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/store"
)

// The environment the stack gives each function (the names and their meaning are in
// internal/deploy, which internal/setup and internal/console read):
//
//	name                   invitation pairing expiry live  value
//	TABLE_NAME                  x        x       x     x   the DynamoDB table
//	EVENT_BUS_NAME              x        x       x     x   the custom bus (events.Source events)
//	SCHEDULE_GROUP              x        x       x     x   the Scheduler group of the one-time expiry schedules
//	SESSION_TTL, INVITE_TTL     x        x       x     x   Go durations, e.g. "24h"
//	DEFAULT_SLOTS, ..._CAP      x        x       x     x   limits of an account never configured
//	POLL_INTERVAL_ACTIVE        x        x       x     x   how often an active session's app polls, e.g. "30s"
//	HIDDEN_USERNAME             x        x       x     x   the hidden administrator account's name
//	LIVE_ENDPOINT               x        x       x     x   the live stage's https:// URL: @connections
//	LIVE_URL                    x        x       x     x   the live stage's wss:// URL, told to the app and consoles
//	SCHEDULER_ROLE_ARN          x        x                 role the schedules run as (may only invoke expiry)
//	EXPIRY_FUNCTION_ARN         x        x                 target of the schedules
//	EXPIRY_DLQ_ARN              x        x                 dead-letter queue of the schedules
//	KMS_KEY_ID                  x        x                 password key (ARN): GenerateDataKey / Decrypt
//	MAC_KEY_ID                  x        x                 HMAC_256 key (ARN) for the security code
//	PUBLIC_BASE_URL             x        x                 the API's URL, no trailing slash (join links)
//	MAIL_FROM                   x                          sender address (an SES identity)
//	SES_CONFIGURATION_SET       x                          configuration set of every mail
//	USER_POOL_ID                x                          for the console's sign-in
//	USER_POOL_CLIENT_ID         x                          the console's public OAuth client (code + PKCE)
//	AUTH_BASE_URL               x                          Cognito hosted sign-in, e.g. https://p.auth.r.amazoncognito.com
//	KVS_CHANNEL_PREFIX          x                          remote access's KVS signalling channels: the stack's name
//	APP_BUCKET                           x                 bucket of the Windows app (dist/agent/ under agent/)

// SweepInput is the constant input the 5-minute rule hands the expiry function; a
// one-time schedule hands it an events.ExpiryDue instead.
var SweepInput = map[string]any{"sweep": true}

// AdminsGroup is the Cognito group whose members see every session of their account.
const AdminsGroup = "admins"

// AccountAttribute is the Cognito custom attribute naming the technician's account; it
// reaches the API as the claim "custom:account".
const AccountAttribute = "account"

// AdhocSupportStackProps configures the stack.
type AdhocSupportStackProps struct {
	awscdk.StackProps
	Config Config
	// AssetDir holds <function>/bootstrap for every name in Functions (`make build`
	// writes dist/functions). CheckAssets verifies it.
	AssetDir string
	// AgentDir, when set, is uploaded to the app bucket (the Windows app build,
	// dist/agent). Empty: the bucket is created empty and the join page says the app is
	// not available yet.
	AgentDir string
	// EdgeWebACLArn is the web ACL of the edge stack (NewEdgeStack's WebACL.AttrArn()),
	// required when Config.EdgeRateLimit is set; the stack then needs
	// CrossRegionReferences, as the web ACL lives in EdgeRegion.
	EdgeWebACLArn *string
}

// AdhocSupportStack is the synthesized stack with the constructs tests and callers
// inspect.
type AdhocSupportStack struct {
	// Stack is the CDK stack itself. Not embedded: jsii refuses a Go struct that embeds
	// a jsii object where the object is expected, so callers pass s.Stack explicitly.
	Stack       awscdk.Stack
	Table       awsdynamodb.Table
	Functions   map[string]awslambda.Function // by name: deploy.Functions
	Roles       map[string]awsiam.Role        // each function's own role
	LogGroups   map[string]awslogs.LogGroup   // each function's own log group
	API         awsapigatewayv2.HttpApi
	LiveAPI     awsapigatewayv2.WebSocketApi // the live channel
	LiveStage   awsapigatewayv2.WebSocketStage
	UserPool    awscognito.UserPool
	Client      awscognito.UserPoolClient
	Bus         awsevents.EventBus
	Schedules   awsscheduler.ScheduleGroup
	Scheduler   awsiam.Role // the role one-time schedules run as
	PasswordKey awskms.Key
	MACKey      awskms.Key
	AppBucket   awss3.Bucket
	// Edge is the CloudFront distribution in front of the API, nil without
	// Config.EdgeRateLimit.
	Edge awscloudfront.Distribution
	// The dead-letter queues: SweepDLQ for the rule's deliveries, ScheduleDLQ for the
	// one-time schedules' deliveries, ExpiryFailures for expiry invocations that failed
	// after Lambda's own retries.
	SweepDLQ, ScheduleDLQ, ExpiryFailures awssqs.Queue

	publicRoutes      []publicRoute                    // routes without the JWT authorizer, for their nag suppressions
	liveMessageRoutes []awsapigatewayv2.WebSocketRoute // the live routes after the handshake, for theirs
}

// CheckAssets reports a missing bootstrap before CloudFormation would deploy a function
// that cannot start.
func CheckAssets(dir string) error {
	for _, name := range deploy.Functions {
		p := filepath.Join(dir, name, "bootstrap")
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("function %s: %w (run `make build` first)", name, err)
		}
		if !fi.Mode().IsRegular() || fi.Size() == 0 {
			return fmt.Errorf("function %s: %s is not a built binary (run `make build`)", name, p)
		}
	}
	return nil
}

// NewAdhocSupportStack builds the stack. It panics when props.AssetDir lacks a bootstrap
// (see CheckAssets), as a construct does for any misconfiguration.
func NewAdhocSupportStack(scope constructs.Construct, id string, props *AdhocSupportStackProps) *AdhocSupportStack {
	if props == nil {
		panic("stack: props are required (AssetDir at least)")
	}
	if err := CheckAssets(props.AssetDir); err != nil {
		panic(fmt.Sprintf("stack: %v", err))
	}
	cfg := props.Config
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("stack: %v", err))
	}
	st := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	s := &AdhocSupportStack{Stack: st, Functions: map[string]awslambda.Function{}, Roles: map[string]awsiam.Role{}, LogGroups: map[string]awslogs.LogGroup{}}

	s.Table = newTable(st)
	s.PasswordKey, s.MACKey = newKeys(st)
	s.Bus = newBus(st, cfg)
	s.Schedules = awsscheduler.NewScheduleGroup(st, jsii.String("ExpirySchedules"), &awsscheduler.ScheduleGroupProps{
		// The schedules are one-time and delete themselves after running; nothing in the
		// group outlives the stack's purpose.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	s.SweepDLQ = newDLQ(st, "SweepDLQ", "failed deliveries of the sweep rule to expiry")
	s.ScheduleDLQ = newDLQ(st, "ScheduleDLQ", "failed deliveries of the one-time expiry schedules")
	s.ExpiryFailures = newDLQ(st, "ExpiryFailures", "expiry invocations failed after retries")
	s.AppBucket = newAppBucket(st, props.AgentDir)
	mailConfig, identity := newMail(st, cfg)
	s.UserPool = newUserPool(st)
	s.API = newAPI(st, cfg)
	apiURL := s.API.ApiEndpoint() // https://<id>.execute-api.<region>.amazonaws.com, no slash
	// The URL everyone is given (join links, the console, the app's build): the API's, or
	// with the edge (Config.EdgeRateLimit) the CloudFront distribution's in front of it.
	publicURL := apiURL
	if cfg.EdgeRateLimit > 0 {
		if props.EdgeWebACLArn == nil {
			panic("stack: edgeRateLimit is set but no web ACL was given (NewEdgeStack, EdgeWebACLArn)")
		}
		s.Edge, publicURL = newEdgeDistribution(st, s.API.ApiId(), props.EdgeWebACLArn)
		suppressEdge(st, s.Edge)
	}
	// Before the functions: they all push through it (see live.go for the dependencies).
	s.LiveAPI, s.LiveStage = newLiveAPI(st, cfg)

	// The console's OAuth client redirects back to the API by default; it needs the API's
	// URL, and the authorizer needs the client: API → client → authorizer, no cycle.
	callbacks := cfg.ConsoleCallbackURLs
	callbackTokens := jsii.Strings(callbacks...)
	if len(callbacks) == 0 {
		callbackTokens = &[]*string{jsii.String(*publicURL + "/")}
	}
	s.Client = newConsoleClient(s.UserPool, callbackTokens)
	authDomain := newAuthDomain(st, s.UserPool, cfg)

	common := map[string]*string{
		deploy.EnvTableName:      s.Table.TableName(),
		deploy.EnvEventBusName:   s.Bus.EventBusName(),
		deploy.EnvScheduleGroup:  s.Schedules.ScheduleGroupName(),
		deploy.EnvSessionTTL:     jsii.String(fmt.Sprintf("%dh", cfg.SessionHours)),
		deploy.EnvInviteTTL:      jsii.String(fmt.Sprintf("%dh", cfg.InviteHours)),
		deploy.EnvDefaultSlots:   jsii.String(fmt.Sprint(cfg.DefaultSlots)),
		deploy.EnvDefaultCap:     jsii.String(fmt.Sprint(cfg.AdhocCap)),
		deploy.EnvPollActive:     jsii.String(fmt.Sprintf("%ds", cfg.PollSeconds)),
		deploy.EnvHiddenUsername: jsii.String(cfg.HiddenUsername),
		// Every function commits session changes and pushes them right after.
		deploy.EnvLiveEndpoint: s.LiveStage.CallbackUrl(), // https://<id>.execute-api.<region>.amazonaws.com/live
		deploy.EnvLiveURL:      s.LiveStage.Url(),         // wss://<id>.execute-api.<region>.amazonaws.com/live
	}

	// expiry first: invitation and pairing hand its ARN to the schedules they create.
	expiry := s.newFunction(props.AssetDir, deploy.Expiry, functionSpec{
		// A sweep reads one index page and commits each overdue session; 256 MB is ample
		// for Go, and latency does not matter here.
		memoryMB: 256,
		// A sweep of a large backlog keeps going until done or timed out; the next sweep
		// five minutes later continues where this one stopped.
		timeoutSeconds: 60,
		env:            common,
	})
	expiry.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		// A late expiry is superseded by the next sweep, so an hour of retries is plenty;
		// what still fails lands in ExpiryFailures and raises an alarm.
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(1)),
		RetryAttempts: jsii.Number(2),
		OnFailure:     sqsDestination(s.ExpiryFailures),
	})
	s.Scheduler = newSchedulerRole(st, s.Schedules, expiry, s.ScheduleDLQ)

	// invitation and pairing create schedules, and seal, open and MAC with the keys
	// (internal/setup/kmskeys); expiry and live do neither and link no KMS client.
	scheduling := merge(common, map[string]*string{
		deploy.EnvSchedulerRole:  s.Scheduler.RoleArn(),
		deploy.EnvExpiryFunction: expiry.FunctionArn(),
		deploy.EnvExpiryDLQ:      s.ScheduleDLQ.QueueArn(),
		deploy.EnvPublicBaseURL:  publicURL,
		deploy.EnvPasswordKey:    s.PasswordKey.KeyArn(),
		deploy.EnvMACKey:         s.MACKey.KeyArn(),
	})
	invitation := s.newFunction(props.AssetDir, deploy.Invitation, functionSpec{
		// Latency the technician sees: the first request opens TLS connections to KMS,
		// DynamoDB, SES, Scheduler and EventBridge, and Lambda's CPU share grows with
		// memory. 512 MB keeps a cold start well under a second at a fraction of a cent.
		memoryMB: 512,
		// KMS + a DynamoDB transaction (retried on conflict) + SES + Scheduler: a few
		// hundred ms normally. 20 s stays below the HTTP API's 30 s integration limit so
		// the function, not the gateway, decides what the technician is told.
		timeoutSeconds: 20,
		env: merge(scheduling, map[string]*string{
			deploy.EnvMailFrom:       jsii.String(cfg.MailFrom),
			deploy.EnvMailConfigSet:  mailConfig.ConfigurationSetName(),
			deploy.EnvUserPoolID:     s.UserPool.UserPoolId(),
			deploy.EnvUserPoolClient: s.Client.UserPoolClientId(),
			deploy.EnvAuthBaseURL:    authDomain.BaseUrl(nil),
			deploy.EnvKVSChannels:    jsii.String(KVSChannelPrefix(st)),
		}),
	})
	pairing := s.newFunction(props.AssetDir, deploy.Pairing, functionSpec{
		// The end user waits on pairing with the technician on the phone: same reasoning
		// as invitation.
		memoryMB: 512,
		// DynamoDB and KMS only, no mail; the app retries a failed request, so a short
		// timeout frees a stuck connection sooner.
		timeoutSeconds: 10,
		env:            merge(scheduling, map[string]*string{deploy.EnvAppBucket: s.AppBucket.BucketName()}),
	})

	live := s.newFunction(props.AssetDir, deploy.Live, functionSpec{
		// One DynamoDB round trip or two and an @connections call per event, all waiting
		// on the network: 256 MB is ample, as for expiry.
		memoryMB: 256,
		// The handshake waits on the authorizer and on $connect, and a WebSocket
		// integration may take at most 29 s; a stuck call is cut off well before.
		timeoutSeconds: 10,
		// No scheduling: an overdue session its $connect expires only loses its schedules.
		env: common,
	})

	s.grant(cfg, mailConfig, identity)
	s.routes(newRouteIntegrations(invitation, pairing), s.UserPool, s.Client)
	s.liveRoutes(live)
	newSweepRule(st, expiry, s.SweepDLQ)
	newAlarms(st, cfg, s)
	s.outputs(apiURL, publicURL, authDomain)
	suppress(s)
	return s
}

// KVSChannelPrefix begins the names of the stack's KVS signalling channels (one per
// account, made by the invitation function on first use, for the TURN servers of remote
// access): the stack's name, which channel names allow.
func KVSChannelPrefix(st awscdk.Stack) string { return *st.StackName() }

func merge(maps ...map[string]*string) map[string]*string {
	out := map[string]*string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func newTable(st awscdk.Stack) awsdynamodb.Table {
	str := awsdynamodb.AttributeType_STRING
	t := awsdynamodb.NewTable(st, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(store.KeyPK), Type: str},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String(store.KeySK), Type: str},
		// Traffic is a handful of requests per session: on-demand costs nothing idle.
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(store.AttrTTL),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// Accounts' slot counters and the audit trail must survive a mistaken
		// `cdk destroy` or a replacement.
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
	})
	t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(store.IndexByDue),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(store.AttrDuePK), Type: str},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(store.AttrDueAt), Type: awsdynamodb.AttributeType_NUMBER},
		ProjectionType: awsdynamodb.ProjectionType_KEYS_ONLY,
	})
	t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:    jsii.String(store.IndexByAccount),
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(store.AttrAccountPK), Type: str},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String(store.AttrCreatedSK), Type: str},
		// What the listings read, never the sealed secrets (the store's schema).
		ProjectionType:   awsdynamodb.ProjectionType_INCLUDE,
		NonKeyAttributes: jsii.Strings(store.ByAccountAttributes()...),
	})
	return t
}

func newKeys(st awscdk.Stack) (password, mac awskms.Key) {
	password = awskms.NewKey(st, jsii.String("PasswordKey"), &awskms.KeyProps{
		Description:       jsii.String("Ad-hoc Support: envelope key of the session passwords (AES-256-GCM data keys)"),
		EnableKeyRotation: jsii.Bool(true),
		// A sealed password lives at most until pairing or the invite expiry (hours), so
		// nothing worth keeping depends on the key after the stack is gone; the shortest
		// waiting period makes stale ciphertexts unreadable soonest.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		PendingWindow: awscdk.Duration_Days(jsii.Number(7)),
	})
	mac = awskms.NewKey(st, jsii.String("CodeMACKey"), &awskms.KeyProps{
		Description: jsii.String("Ad-hoc Support: HMAC key of the security codes (GenerateMac)"),
		KeySpec:     awskms.KeySpec_HMAC_256,
		KeyUsage:    awskms.KeyUsage_GENERATE_VERIFY_MAC,
		// Codes are only compared until activation; same reasoning as the password key.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		PendingWindow: awscdk.Duration_Days(jsii.Number(7)),
	})
	return password, mac
}

func newDLQ(st awscdk.Stack, id, what string) awssqs.Queue {
	q := awssqs.NewQueue(st, jsii.String(id), &awssqs.QueueProps{
		// SQS-managed encryption: EventBridge and Scheduler can write to it without a key
		// policy, and the messages hold only ids and timestamps.
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
		// The longest SQS allows: an operator back from holiday still finds the failures.
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	// Tag values allow letters, digits, spaces and _.:/=+-@ only.
	awscdk.Tags_Of(q).Add(jsii.String("Purpose"), jsii.String("dead letters: "+what), nil)
	return q
}

func newAppBucket(st awscdk.Stack, agentDir string) awss3.Bucket {
	// No server access logs: they would record every presigned download URL, whose file
	// name carries the invite token, a bearer secret while the invitation is open, for as
	// long as the logs are kept (see the AwsSolutions-S1 suppression in nag.go).
	b := awss3.NewBucket(st, jsii.String("AppBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		// S3-managed keys: the pairing function reads the app without a KMS grant, and the
		// app is public software anyway; integrity comes from its Authenticode signature.
		Encryption:      awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		ObjectOwnership: awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:       jsii.Bool(true),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			// Keep the previous builds a month for a rollback, then drop them.
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	if agentDir != "" {
		uploadApp(st, b, agentDir)
	}
	return b
}

func newMail(st awscdk.Stack, cfg Config) (awsses.ConfigurationSet, awsses.EmailIdentity) {
	set := awsses.NewConfigurationSet(st, jsii.String("MailConfig"), &awsses.ConfigurationSetProps{
		ReputationMetrics: jsii.Bool(true),
		SendingEnabled:    jsii.Bool(true),
		// The mail carries the install link with the invite token: never in clear text.
		TlsPolicy:          awsses.ConfigurationSetTlsPolicy_REQUIRE,
		SuppressionReasons: awsses.SuppressionReasons_BOUNCES_AND_COMPLAINTS,
	})
	// The sender: one `cdk deploy` should give a working product, so by default the stack
	// creates an e-mail-address identity (SES mails a verification link to it). A company
	// that already verified its domain in SES switches that off; the functions' permission
	// covers both the address and its domain identity, whichever SES authorizes against.
	var identity awsses.EmailIdentity
	if cfg.CreateMailIdentity {
		identity = awsses.NewEmailIdentity(st, jsii.String("MailFrom"), &awsses.EmailIdentityProps{
			Identity:         awsses.Identity_Email(jsii.String(cfg.MailFrom)),
			ConfigurationSet: set,
		})
	}
	return set, identity
}

func newBus(st awscdk.Stack, cfg Config) awsevents.EventBus {
	bus := awsevents.NewEventBus(st, jsii.String("Bus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(cfg.EventBusName),
		Description:  jsii.String("Ad-hoc Support: the life of every session"),
	})
	// Every event of the product is archived for the audit's 90 days, so an integration
	// added later can be replayed from the start (the pattern comes from the events
	// package, the same names the handlers publish).
	bus.Archive(jsii.String("Archive"), &awsevents.BaseArchiveProps{
		Description:  jsii.String("Ad-hoc Support: all session events, 90 days"),
		EventPattern: productEvents(),
		Retention:    awscdk.Duration_Days(jsii.Number(90)),
	})
	return bus
}
