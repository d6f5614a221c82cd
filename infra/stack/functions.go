package stack

import (
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/grants"
	"github.com/adhoc-support/adhoc-support/internal/secrets/awskms"
	"github.com/adhoc-support/adhoc-support/internal/store"
)

type functionSpec struct {
	memoryMB       float64
	timeoutSeconds float64
	env            map[string]*string
}

// LogRetention is how long the functions' and the API's logs are kept. The audit trail
// lives in the table (90 days); logs are for debugging, and a month covers an incident.
const LogRetention = awslogs.RetentionDays_ONE_MONTH

// newFunction deploys AssetDir/<name>/bootstrap with its own role and log group. The role
// starts empty (no managed policy): grant adds exactly what each function calls.
func (s *AdhocSupportStack) newFunction(assetDir, name string, spec functionSpec) awslambda.Function {
	id := exportedName(name)
	logs := awslogs.NewLogGroup(s.Stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(s.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Ad-hoc Support: the " + name + " function"),
	})
	// Its own log group only, instead of AWSLambdaBasicExecutionRole's logs on "*".
	logs.GrantWrite(role)
	env := map[string]*string{}
	for k, v := range spec.env {
		env[k] = v
	}
	fn := awslambda.NewFunction(s.Stack, jsii.String(id), &awslambda.FunctionProps{
		Description:  jsii.String("Ad-hoc Support: " + name),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(assetDir, name)), nil),
		MemorySize:   jsii.Number(spec.memoryMB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(spec.timeoutSeconds)),
		Role:         role,
		LogGroup:     logs,
		// JSON lines with Lambda's own fields; the handlers log with slog's JSON handler.
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		Tracing:               awslambda.Tracing_ACTIVE,
		Environment:           &env,
	})
	s.Functions[name] = fn
	s.Roles[name] = role
	s.LogGroups[name] = logs
	return fn
}

func exportedName(name string) string {
	if name == "" {
		return name
	}
	return string(name[0]-'a'+'A') + name[1:]
}

func sqsDestination(q awssqs.IQueue) awslambda.IDestination {
	return awslambdadestinations.NewSqsDestination(q)
}

// newSchedulerRole is the role the one-time expiry schedules run as. Only EventBridge
// Scheduler may assume it, only for this account's schedule group (confused-deputy
// protection), and it can do exactly two things: invoke expiry, and hand an undeliverable
// schedule to its dead-letter queue (Scheduler sends dead letters with this role).
func newSchedulerRole(st awscdk.Stack, group awsscheduler.ScheduleGroup, expiry awslambda.Function, dlq awssqs.Queue) awsiam.Role {
	principal := awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil).WithConditions(&map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": st.Account()},
		"ArnEquals":    map[string]any{"aws:SourceArn": group.ScheduleGroupArn()},
	})
	role := awsiam.NewRole(st, jsii.String("SchedulerRole"), &awsiam.RoleProps{
		AssumedBy:   principal,
		Description: jsii.String("Ad-hoc Support: one-time expiry schedules invoke the expiry function"),
	})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("InvokeExpiry"),
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &[]*string{expiry.FunctionArn()},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DeadLetters"),
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{dlq.QueueArn()},
	}))
	return role
}

// The DynamoDB actions every function's transactions need: TransactWriteItems is
// authorized per contained action, ConditionCheckItem included.
var itemActions = []string{
	"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
	"dynamodb:ConditionCheckItem",
}

// grant gives each function exactly the calls its code path makes (internal/support):
//
//	invitation  items + Query (audit and console connections on the table, sessions of an
//	            account on byAccount), ses:SendEmail as MAIL_FROM, PutEvents, schedules
//	            create/update/delete, PassRole of the scheduler role, GenerateDataKey on
//	            the password key, GenerateMac on the MAC key, the stack's KVS signalling
//	            channels (create, describe, endpoint, ICE servers)
//	pairing     items (all its other reads are by key), Query of console connections,
//	            PutEvents, schedules, PassRole, Decrypt on the password key, GenerateMac,
//	            GetObject on the app bucket; no SES: it never sends mail
//	expiry      items + Query on byDue and of console connections, PutEvents, schedule
//	            delete; no KMS, no SES
//	live        items (tickets, console connections, the session's connection), Query of
//	            console connections, PutEvents and schedule delete (a $connect may expire
//	            an overdue session); no KMS, no SES
//
// and all four ManageConnections on the live stage's @connections: each pushes what it
// commits.
func (s *AdhocSupportStack) grant(cfg Config, mailConfig awsses.ConfigurationSet, identity awsses.EmailIdentity) {
	st := s.Stack
	table := s.Table.TableArn()
	index := func(name string) *string {
		return awscdk.Fn_Join(jsii.String(""), &[]*string{table, jsii.String("/index/" + name)})
	}
	add := func(fn, sid string, actions []string, resources []*string, conditions map[string]any) {
		props := &awsiam.PolicyStatementProps{
			Sid:       jsii.String(sid),
			Actions:   jsii.Strings(actions...),
			Resources: &resources,
		}
		if conditions != nil {
			props.Conditions = &conditions
		}
		s.Roles[fn].AddToPolicy(awsiam.NewPolicyStatement(props))
	}

	// Table.
	add(deploy.Invitation, "Items", append(append([]string{}, itemActions...), "dynamodb:Query"), []*string{table}, nil)
	add(deploy.Invitation, "SessionsOfAccount", []string{"dynamodb:Query"}, []*string{index(store.IndexByAccount)}, nil)
	add(deploy.Pairing, "Items", itemActions, []*string{table}, nil)
	add(deploy.Expiry, "Items", itemActions, []*string{table}, nil)
	add(deploy.Expiry, "DueSessions", []string{"dynamodb:Query"}, []*string{index(store.IndexByDue)}, nil)
	add(deploy.Live, "Items", itemActions, []*string{table}, nil)
	// The pushes after a commit list the account's console connections (store.Consoles):
	// one Query of its LIVE#<account> partition. The functions that need the table's Query
	// for nothing else may query only those partitions; invitation reads audit trails too.
	for _, fn := range []string{deploy.Pairing, deploy.Expiry, deploy.Live} {
		add(fn, "ConsoleConnections", []string{"dynamodb:Query"}, []*string{table},
			map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []string{store.LivePartitionPrefix + "*"}}})
	}

	// Pushes: @connections of the live stage only (POST, DELETE and GET /@connections/{id}
	// are all this one action). Connection ids are made per connection, hence the wildcard.
	connections := st.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("execute-api"),
		Resource:     s.LiveAPI.ApiId(),
		ResourceName: jsii.String(LiveStageName + "/*/@connections/*"),
		ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	for _, fn := range deploy.Functions {
		add(fn, "PushLive", []string{grants.ManageConnections}, []*string{connections}, nil)
	}

	// Events: only on the product's bus, and only with the product's source.
	for _, fn := range deploy.Functions {
		add(fn, "PublishEvents", []string{"events:PutEvents"}, []*string{s.Bus.EventBusArn()},
			map[string]any{"StringEquals": map[string]any{"events:source": events.Source}})
	}

	// One-time schedules, only inside the product's group. Schedule names are made per
	// session at run time, hence the wildcard below the group.
	schedules := st.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("scheduler"),
		Resource:     jsii.String("schedule"),
		ResourceName: jsii.String(*s.Schedules.ScheduleGroupName() + "/*"),
	})
	for _, fn := range []string{deploy.Invitation, deploy.Pairing} {
		add(fn, "ExpirySchedules", []string{"scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"},
			[]*string{schedules}, nil)
		add(fn, "PassSchedulerRole", []string{"iam:PassRole"}, []*string{s.Scheduler.RoleArn()},
			map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}})
	}
	for _, fn := range []string{deploy.Expiry, deploy.Live} {
		add(fn, "ExpirySchedules", []string{"scheduler:DeleteSchedule"}, []*string{schedules}, nil)
	}

	// KMS: the password is sealed at invitation and opened at pairing, where the agent
	// token is sealed too (kept for a retried pairing until the first poll); the encryption
	// context pins the key to that purpose (internal/secrets sets it on every call).
	// internal/grants lists these actions; TestGrants holds the two together.
	purpose := map[string]any{"StringEquals": map[string]any{"kms:EncryptionContext:purpose": awskms.PurposePassword}}
	add(deploy.Invitation, "SealPassword", []string{"kms:GenerateDataKey"}, []*string{s.PasswordKey.KeyArn()}, purpose)
	add(deploy.Pairing, "OpenPasswordSealToken", []string{"kms:Decrypt", "kms:GenerateDataKey"}, []*string{s.PasswordKey.KeyArn()}, purpose)
	for _, fn := range []string{deploy.Invitation, deploy.Pairing} {
		add(fn, "SecurityCodeMAC", []string{"kms:GenerateMac"}, []*string{s.MACKey.KeyArn()},
			map[string]any{"StringEquals": map[string]any{"kms:MacAlgorithm": "HMAC_SHA_256"}})
	}

	// Mail: invitation only, only as MAIL_FROM, only through the configuration set. SES
	// authorizes against the address identity or, when the domain is verified instead,
	// the domain identity.
	domain := domainOf(cfg.MailFrom)
	identityARN := func(name string) *string {
		return st.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: jsii.String(name)})
	}
	add(deploy.Invitation, "SendInvitationMail", []string{"ses:SendEmail"}, []*string{
		identityARN(cfg.MailFrom), identityARN(domain),
		st.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("configuration-set"), ResourceName: mailConfig.ConfigurationSetName()}),
	}, map[string]any{"StringEquals": map[string]any{"ses:FromAddress": cfg.MailFrom}})
	if identity != nil {
		// The identity must exist before the function may need it.
		s.Functions[deploy.Invitation].Node().AddDependency(identity)
	}

	// Remote access's TURN (Kinesis Video Streams): invitation finds, or makes on first
	// use, the account's signalling channel, asks for its HTTPS endpoint and gets its ICE
	// servers (internal/iceservers). Only the stack's channels: the prefix, a hyphen and
	// exactly deploy.KVSChannelHashLen characters of the account's hash, made at run time;
	// a channel's ARN ends in its creation time, which a call by name may not carry.
	channel := func(suffix string) *string {
		return st.FormatArn(&awscdk.ArnComponents{Service: jsii.String("kinesisvideo"), Resource: jsii.String("channel"),
			ResourceName: jsii.String(KVSChannelPrefix(st) + "-" + strings.Repeat("?", deploy.KVSChannelHashLen) + suffix),
			ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME})
	}
	add(deploy.Invitation, "RemoteAccessTURN", []string{
		"kinesisvideo:CreateSignalingChannel", "kinesisvideo:DescribeSignalingChannel",
		"kinesisvideo:GetIceServerConfig", "kinesisvideo:GetSignalingChannelEndpoint",
	}, []*string{channel(""), channel("/*")}, nil)

	// The app download: pairing checks for (HeadObject) and presigns the build under
	// deploy.AppKeyPrefix; a presigned URL carries the signer's permission, so GetObject it is.
	add(deploy.Pairing, "ReadApp", []string{"s3:GetObject"}, []*string{s.AppBucket.ArnForObjects(jsii.String(deploy.AppKeyPrefix + "*"))}, nil)
}

func domainOf(address string) string {
	for i := len(address) - 1; i >= 0; i-- {
		if address[i] == '@' {
			return address[i+1:]
		}
	}
	return ""
}

// productEvents matches every event the product publishes, built from the events
// package so a renamed or added event type changes the rules with it.
func productEvents() *awsevents.EventPattern {
	types := make([]*string, len(events.All))
	for i, t := range events.All {
		types[i] = jsii.String(string(t))
	}
	return &awsevents.EventPattern{
		Source:     jsii.Strings(events.Source),
		DetailType: &types,
	}
}
