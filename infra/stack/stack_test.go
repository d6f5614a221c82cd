package stack_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/infra/stack"
	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/grants"
	"github.com/adhoc-support/adhoc-support/internal/store"
)

// One stack, synthesized once for every test: a synth costs seconds, and jsii must not
// be called from parallel tests (none of these calls t.Parallel).
var fx struct {
	s           *stack.AdhocSupportStack
	cfg         stack.Config
	template    assertions.Template
	resources   map[string]resource
	outputs     map[string]any
	annotations assertions.Annotations
	assetDir    string
	cloudDir    string // the cloud assembly (cdk.out) of the synth
}

type resource struct {
	Type           string         `json:"Type"`
	Properties     map[string]any `json:"Properties"`
	DeletionPolicy string         `json:"DeletionPolicy"`
	UpdatePolicy   string         `json:"UpdateReplacePolicy"`
	Metadata       map[string]any `json:"Metadata"`
	DependsOn      any            `json:"DependsOn"` // a logical id or a list of them
}

const alarmEmail = "ops@example.com"

func TestMain(m *testing.M) {
	code := func() int {
		defer jsii.Close()
		tmp, err := os.MkdirTemp("", "infra-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		if err := synth(tmp); err != nil {
			fmt.Fprintln(os.Stderr, "synthesize the stack:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// synth builds the stack the way infra/main.go does, with cdk.json's context, placeholder
// bootstraps (template assertions only need the asset folders to exist; the real
// binaries are tested under the Lambda emulator), and an app build to upload.
func synth(tmp string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	start := time.Now()
	fx.assetDir = filepath.Join(tmp, "functions")
	for _, name := range deploy.Functions {
		if err := os.MkdirAll(filepath.Join(fx.assetDir, name), 0o755); err != nil {
			return err
		}
		// Different content per function, so each asset is distinguishable.
		if err := os.WriteFile(filepath.Join(fx.assetDir, name, "bootstrap"), []byte("placeholder for "+name), 0o755); err != nil {
			return err
		}
	}
	agentDir := filepath.Join(tmp, "agent")
	if err := os.MkdirAll(agentDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(agentDir, "AdhocSupport.exe"), []byte("MZ placeholder"), 0o644); err != nil {
		return err
	}
	ctx, err := cdkContext()
	if err != nil {
		return err
	}
	ctx[stack.CtxAlarmEmail] = alarmEmail
	fx.cloudDir = filepath.Join(tmp, "cdk.out")
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(fx.cloudDir)})
	fx.cfg, err = stack.ConfigFrom(func(k string) any { return app.Node().TryGetContext(jsii.String(k)) })
	if err != nil {
		return err
	}
	fx.s = stack.NewAdhocSupportStack(app, "AdhocSupport", &stack.AdhocSupportStackProps{
		Config: fx.cfg, AssetDir: fx.assetDir, AgentDir: agentDir,
	})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	fx.template = assertions.Template_FromStack(fx.s.Stack, nil)
	fx.annotations = assertions.Annotations_FromStack(fx.s.Stack)
	raw, err := json.Marshal(fx.template.ToJSON())
	if err != nil {
		return err
	}
	var t struct {
		Resources map[string]resource `json:"Resources"`
		Outputs   map[string]any      `json:"Outputs"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return err
	}
	fx.resources, fx.outputs = t.Resources, t.Outputs
	fmt.Fprintf(os.Stderr, "infra test: synthesized %d resources in %s\n", len(t.Resources), time.Since(start).Round(time.Millisecond))
	return nil
}

// cdkContext is cdk.json's context: the same feature flags and parameters as `cdk synth`.
func cdkContext() (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		return nil, fmt.Errorf("read cdk.json: %w", err)
	}
	var c struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("parse cdk.json: %w", err)
	}
	return c.Context, nil
}

// must turns a failed jsii assertion (a panic carrying CDK's explanation) into a test
// error.
func must(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

func logicalID(c constructs.IConstruct) string {
	return *fx.s.Stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}

func ref(c constructs.IConstruct) map[string]any { return map[string]any{"Ref": logicalID(c)} }

func getAtt(c constructs.IConstruct, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{logicalID(c), attr}}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func ofType(typ string) map[string]resource {
	out := map[string]resource{}
	for id, r := range fx.resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

// ofAPI is the resources of a type that belong to one API (their ApiId).
func ofAPI(typ string, api constructs.IConstruct) map[string]resource {
	out := map[string]resource{}
	for id, r := range ofType(typ) {
		if js(r.Properties["ApiId"]) == js(ref(api)) {
			out[id] = r
		}
	}
	return out
}

type statement struct {
	Sid       string
	Effect    string
	Actions   []string
	Resources []any
	Condition map[string]any
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// statementsOf collects the statements of every IAM policy attached to the role.
func statementsOf(role constructs.IConstruct) []statement {
	want := js(ref(role))
	var out []statement
	for _, p := range ofType("AWS::IAM::Policy") {
		attached := false
		for _, r := range list(p.Properties["Roles"]) {
			attached = attached || js(r) == want
		}
		if !attached {
			continue
		}
		doc := p.Properties["PolicyDocument"].(map[string]any)
		for _, raw := range list(doc["Statement"]) {
			m := raw.(map[string]any)
			st := statement{Resources: list(m["Resource"])}
			st.Sid, _ = m["Sid"].(string)
			st.Effect, _ = m["Effect"].(string)
			st.Condition, _ = m["Condition"].(map[string]any)
			for _, a := range list(m["Action"]) {
				st.Actions = append(st.Actions, a.(string))
			}
			out = append(out, st)
		}
	}
	return out
}

func actionsOf(role constructs.IConstruct) []string {
	var out []string
	for _, st := range statementsOf(role) {
		out = append(out, st.Actions...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func TestTable(t *testing.T) {
	// byAccount projects what the listings read and never a sealed secret (issue 15,
	// point 8): the template's list is the store's, which leaves those out.
	var byAccountAttributes []any
	for _, a := range store.ByAccountAttributes() {
		if slices.Contains([]string{"sealedPassword", "sealedAgentToken", "inviteTokenHash", "codeMac", "agentTokenHash", "pairNonce"}, a) {
			t.Fatalf("store.ByAccountAttributes lists %s", a)
		}
		byAccountAttributes = append(byAccountAttributes, a)
	}
	if !slices.Contains(store.ByAccountAttributes(), "hostname") || !slices.Contains(store.ByAccountAttributes(), "status") {
		t.Fatalf("store.ByAccountAttributes lacks what a listing shows: %v", store.ByAccountAttributes())
	}
	// GIVEN the stack WHEN its DynamoDB table is read THEN it is the store's schema,
	// exactly, with the operational settings of DESIGN.md.
	must(t, "table schema", func() {
		fx.template.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy":      "Retain",
			"UpdateReplacePolicy": "Retain",
			"Properties": map[string]any{
				"KeySchema": []any{
					map[string]any{"AttributeName": store.KeyPK, "KeyType": "HASH"},
					map[string]any{"AttributeName": store.KeySK, "KeyType": "RANGE"},
				},
				"AttributeDefinitions": assertions.Match_ArrayEquals(&[]any{
					map[string]any{"AttributeName": store.KeyPK, "AttributeType": "S"},
					map[string]any{"AttributeName": store.KeySK, "AttributeType": "S"},
					map[string]any{"AttributeName": store.AttrDuePK, "AttributeType": "S"},
					map[string]any{"AttributeName": store.AttrDueAt, "AttributeType": "N"},
					map[string]any{"AttributeName": store.AttrAccountPK, "AttributeType": "S"},
					map[string]any{"AttributeName": store.AttrCreatedSK, "AttributeType": "S"},
				}),
				"BillingMode":                      "PAY_PER_REQUEST",
				"TimeToLiveSpecification":          map[string]any{"AttributeName": store.AttrTTL, "Enabled": true},
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"DeletionProtectionEnabled":        true,
				"SSESpecification":                 map[string]any{"SSEEnabled": true},
				"GlobalSecondaryIndexes": assertions.Match_ArrayEquals(&[]any{
					map[string]any{
						"IndexName": store.IndexByDue,
						"KeySchema": []any{
							map[string]any{"AttributeName": store.AttrDuePK, "KeyType": "HASH"},
							map[string]any{"AttributeName": store.AttrDueAt, "KeyType": "RANGE"},
						},
						"Projection": map[string]any{"ProjectionType": "KEYS_ONLY"},
					},
					map[string]any{
						"IndexName": store.IndexByAccount,
						"KeySchema": []any{
							map[string]any{"AttributeName": store.AttrAccountPK, "KeyType": "HASH"},
							map[string]any{"AttributeName": store.AttrCreatedSK, "KeyType": "RANGE"},
						},
						"Projection": map[string]any{"ProjectionType": "INCLUDE", "NonKeyAttributes": byAccountAttributes},
					},
				}),
			},
		})
	})
	must(t, "one table", func() { fx.template.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
}

func TestFunctions(t *testing.T) {
	shared := []string{"TABLE_NAME", "EVENT_BUS_NAME", "SCHEDULE_GROUP", "SESSION_TTL", "INVITE_TTL", "DEFAULT_SLOTS", "DEFAULT_ADHOC_CAP", "POLL_INTERVAL_ACTIVE", "HIDDEN_USERNAME",
		"LIVE_ENDPOINT", "LIVE_URL"}
	// Only the functions that seal, open or MAC get the key ids (expiry and live link no KMS).
	scheduling := []string{"SCHEDULER_ROLE_ARN", "EXPIRY_FUNCTION_ARN", "EXPIRY_DLQ_ARN", "PUBLIC_BASE_URL", "KMS_KEY_ID", "MAC_KEY_ID"}
	cases := []struct {
		name     string
		memory   float64
		timeout  float64
		extraEnv []string
	}{
		{deploy.Invitation, 512, 20, append(slices.Clone(scheduling), "MAIL_FROM", "SES_CONFIGURATION_SET", "USER_POOL_ID", "USER_POOL_CLIENT_ID", "AUTH_BASE_URL", "KVS_CHANNEL_PREFIX")},
		{deploy.Pairing, 512, 10, append(slices.Clone(scheduling), "APP_BUCKET")},
		{deploy.Expiry, 256, 60, nil},
		{deploy.Live, 256, 10, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the stack WHEN the function is read THEN it is an arm64 provided.al2023
			// bootstrap with JSON logs in its own log group, X-Ray, and its settings.
			fn := fx.s.Functions[c.name]
			r, ok := fx.resources[logicalID(fn)]
			if !ok || r.Type != "AWS::Lambda::Function" {
				t.Fatalf("no function %s in the template", c.name)
			}
			must(t, "function properties", func() {
				fx.template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
					"Runtime":       "provided.al2023",
					"Architectures": []any{"arm64"},
					"Handler":       "bootstrap",
					"MemorySize":    c.memory,
					"Timeout":       c.timeout,
					"TracingConfig": map[string]any{"Mode": "Active"},
					"Role":          getAtt(fx.s.Roles[c.name], "Arn"),
					"LoggingConfig": map[string]any{
						"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN",
						"LogGroup": assertions.Match_AnyValue(),
					},
				})
			})
			// ... its log group keeps logs for a month.
			lgRef, _ := r.Properties["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
			if lg := fx.resources[lgRef]; lg.Type != "AWS::Logs::LogGroup" || lg.Properties["RetentionInDays"] != float64(30) {
				t.Errorf("log group of %s: %+v, want a log group with 30 days retention", c.name, lg)
			}
			// ... its environment has exactly the documented variables.
			vars := r.Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
			var got []string
			for k := range vars {
				got = append(got, k)
			}
			want := append(slices.Clone(shared), c.extraEnv...)
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("environment of %s:\n got %v\nwant %v", c.name, got, want)
			}
			for k, v := range map[string]string{"SESSION_TTL": "24h", "INVITE_TTL": "24h", "DEFAULT_SLOTS": "5", "DEFAULT_ADHOC_CAP": "5", "POLL_INTERVAL_ACTIVE": "30s", "HIDDEN_USERNAME": "AdHocRemoteUser"} {
				if vars[k] != v {
					t.Errorf("%s %s = %v, want %q (cdk.json defaults)", c.name, k, vars[k], v)
				}
			}
			// ... it pushes through the live stage's @connections endpoint and tells its
			// wss:// URL.
			for k, want := range map[string]string{"LIVE_ENDPOINT": "https://", "LIVE_URL": "wss://"} {
				got := js(vars[k])
				if !strings.Contains(got, want) || !strings.Contains(got, js(ref(fx.s.LiveAPI))) || !strings.HasSuffix(got, `"/`+stack.LiveStageName+`"]]}`) {
					t.Errorf("%s %s = %s, want %s<the WebSocket API>…/%s", c.name, k, got, want, stack.LiveStageName)
				}
			}
			// ... and its code is the bootstrap of its own folder.
			key := r.Properties["Code"].(map[string]any)["S3Key"].(string)
			staged := filepath.Join(fx.cloudDir, "asset."+strings.TrimSuffix(key, ".zip"), "bootstrap")
			if b, err := os.ReadFile(staged); err != nil || string(b) != "placeholder for "+c.name {
				t.Errorf("code of %s: %q (%v), want the bootstrap of %s/", c.name, b, err, c.name)
			}
		})
	}
	t.Run("invitation's mail settings", func(t *testing.T) {
		vars := fx.resources[logicalID(fx.s.Functions[deploy.Invitation])].Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
		if vars["MAIL_FROM"] != fx.cfg.MailFrom {
			t.Errorf("MAIL_FROM = %v, want %s", vars["MAIL_FROM"], fx.cfg.MailFrom)
		}
		if p, _ := vars["KVS_CHANNEL_PREFIX"].(string); p == "" || p != stack.KVSChannelPrefix(fx.s.Stack) {
			t.Errorf("KVS_CHANNEL_PREFIX = %v, want the stack's name %s", vars["KVS_CHANNEL_PREFIX"], stack.KVSChannelPrefix(fx.s.Stack))
		}
		if got := js(vars["EXPIRY_FUNCTION_ARN"]); got != js(getAtt(fx.s.Functions[deploy.Expiry], "Arn")) {
			t.Errorf("EXPIRY_FUNCTION_ARN = %s, want the expiry function", got)
		}
		if got := js(vars["EXPIRY_DLQ_ARN"]); got != js(getAtt(fx.s.ScheduleDLQ, "Arn")) {
			t.Errorf("EXPIRY_DLQ_ARN = %s, want the schedule DLQ", got)
		}
	})
}

// TestGrants: each function's role allows exactly the KMS, EventBridge, Scheduler, SES, S3
// and @connections actions internal/grants lists for its code, the table the emulator test enforces
// against the real bootstraps. A call the code makes without a grant fails there; a grant
// without a call fails here.
func TestGrants(t *testing.T) {
	for _, fn := range deploy.Functions {
		t.Run(fn, func(t *testing.T) {
			// GIVEN the function's role WHEN its actions outside DynamoDB, logs, X-Ray, SQS
			// and iam:PassRole are collected THEN they are the table's, no more, no less.
			if len(grants.Actions[fn]) == 0 {
				t.Fatalf("internal/grants has no entry for %s", fn)
			}
			var got []string
			for _, a := range actionsOf(fx.s.Roles[fn]) {
				switch svc, _, _ := strings.Cut(a, ":"); svc {
				case "kms", "events", "scheduler", "ses", "s3", "execute-api", "kinesisvideo":
					got = append(got, a)
				}
			}
			if want := grants.Actions[fn]; !slices.Equal(got, want) {
				t.Errorf("%s's role:\n got %v\nwant %v (internal/grants)", fn, got, want)
			}
		})
	}
}

func TestLeastPrivilege(t *testing.T) {
	logsXRay := []string{"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}
	items := []string{"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
	schedules := []string{"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:UpdateSchedule", "iam:PassRole"}
	push := []string{"execute-api:ManageConnections"}
	turnChannels := []string{"kinesisvideo:CreateSignalingChannel", "kinesisvideo:DescribeSignalingChannel", "kinesisvideo:GetIceServerConfig", "kinesisvideo:GetSignalingChannelEndpoint"}
	cases := []struct {
		name      string
		want      []string
		forbidden []string // action prefixes the function must never have
	}{
		{deploy.Invitation, concat(logsXRay, items, schedules, push, turnChannels, []string{"dynamodb:Query", "events:PutEvents", "kms:GenerateDataKey", "kms:GenerateMac", "ses:SendEmail"}),
			[]string{"kms:Decrypt", "s3:", "sqs:", "lambda:", "dynamodb:Scan", "dynamodb:Batch", "kinesisvideo:DeleteSignalingChannel", "kinesisvideo:Connect"}},
		// Pairing's one Query is of console connections (checked below).
		{deploy.Pairing, concat(logsXRay, items, schedules, push, []string{"dynamodb:Query", "events:PutEvents", "kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateMac", "s3:GetObject"}),
			[]string{"ses:", "dynamodb:Scan", "s3:Put", "lambda:", "kinesisvideo:"}},
		{deploy.Expiry, concat(logsXRay, items, push, []string{"dynamodb:Query", "events:PutEvents", "scheduler:DeleteSchedule",
			"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}),
			[]string{"ses:", "kms:", "scheduler:CreateSchedule", "iam:PassRole", "s3:", "dynamodb:Scan"}},
		{deploy.Live, concat(logsXRay, items, push, []string{"dynamodb:Query", "events:PutEvents", "scheduler:DeleteSchedule"}),
			[]string{"ses:", "kms:", "scheduler:CreateSchedule", "scheduler:UpdateSchedule", "iam:PassRole", "s3:", "sqs:", "lambda:", "dynamodb:Scan", "dynamodb:Batch"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the function's role WHEN its policies' actions are collected THEN they
			// are exactly what its code path calls, and none of the forbidden ones.
			role := fx.s.Roles[c.name]
			got := actionsOf(role)
			sort.Strings(c.want)
			if !slices.Equal(got, slices.Compact(c.want)) {
				t.Errorf("actions of %s:\n got %v\nwant %v", c.name, got, c.want)
			}
			for _, a := range got {
				for _, f := range c.forbidden {
					if strings.HasPrefix(a, f) {
						t.Errorf("%s may call %s", c.name, a)
					}
				}
			}
			// ... no managed policy (AWSLambdaBasicExecutionRole logs on "*").
			if mp := fx.resources[logicalID(role)].Properties["ManagedPolicyArns"]; mp != nil {
				t.Errorf("%s role has managed policies %v", c.name, mp)
			}
			// ... and "*" only where IAM knows no resources (X-Ray).
			for _, st := range statementsOf(role) {
				if st.Effect != "Allow" {
					t.Errorf("%s: unexpected %s statement", c.name, st.Effect)
				}
				for _, r := range st.Resources {
					if r == "*" && !allPrefixed(st.Actions, "xray:") {
						t.Errorf("%s: %v on \"*\"", c.name, st.Actions)
					}
				}
			}
		})
	}

	// GIVEN the statements WHEN their resources and conditions are read THEN each one is
	// scoped to the stack's own resource and the product's source, address and purpose.
	scoped := []struct {
		fn, action, resource string
		condition            string
	}{
		{deploy.Invitation, "ses:SendEmail", "identity/" + fx.cfg.MailFrom, `"ses:FromAddress":"` + fx.cfg.MailFrom + `"`},
		{deploy.Invitation, "ses:SendEmail", ":configuration-set/", ""},
		{deploy.Invitation, "kms:GenerateDataKey", js(getAtt(fx.s.PasswordKey, "Arn")), `"kms:EncryptionContext:purpose":"adhoc-password"`},
		{deploy.Pairing, "kms:Decrypt", js(getAtt(fx.s.PasswordKey, "Arn")), `"kms:EncryptionContext:purpose":"adhoc-password"`},
		{deploy.Pairing, "kms:GenerateMac", js(getAtt(fx.s.MACKey, "Arn")), `"kms:MacAlgorithm":"HMAC_SHA_256"`},
		{deploy.Invitation, "iam:PassRole", js(getAtt(fx.s.Scheduler, "Arn")), `"iam:PassedToService":"scheduler.amazonaws.com"`},
		{deploy.Pairing, "s3:GetObject", `"Arn"]},"/` + deploy.AppKeyPrefix + `*"`, ""},
		{deploy.Expiry, "scheduler:DeleteSchedule", ":schedule/" + *fx.s.Schedules.ScheduleGroupName() + "/*", ""},
		{deploy.Invitation, "scheduler:CreateSchedule", ":schedule/" + *fx.s.Schedules.ScheduleGroupName() + "/*", ""},
		{deploy.Invitation, "dynamodb:Query", "/index/" + store.IndexByAccount, ""},
		{deploy.Expiry, "dynamodb:Query", "/index/" + store.IndexByDue, ""},
		{deploy.Pairing, "dynamodb:GetItem", js(getAtt(fx.s.Table, "Arn")), ""},
		{deploy.Live, "dynamodb:GetItem", js(getAtt(fx.s.Table, "Arn")), ""},
		{deploy.Live, "scheduler:DeleteSchedule", ":schedule/" + *fx.s.Schedules.ScheduleGroupName() + "/*", ""},
	}
	// The stack's KVS signalling channels only: its prefix and exactly the hash's length.
	channels := ":channel/" + stack.KVSChannelPrefix(fx.s.Stack) + "-" + strings.Repeat("?", deploy.KVSChannelHashLen)
	for _, a := range turnChannels {
		scoped = append(scoped,
			struct{ fn, action, resource, condition string }{deploy.Invitation, a, channels + `"`, ""},
			struct{ fn, action, resource, condition string }{deploy.Invitation, a, channels + `/*"`, ""})
	}
	// Only the account's console connections (LIVE#<account>) for the functions that
	// query the table for nothing else.
	consoles := `"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["` + store.LivePartitionPrefix + `*"]}`
	for _, fn := range []string{deploy.Pairing, deploy.Expiry, deploy.Live} {
		scoped = append(scoped, struct{ fn, action, resource, condition string }{fn, "dynamodb:Query", `[` + js(getAtt(fx.s.Table, "Arn")) + `]`, consoles})
	}
	// @connections of the live stage only.
	connections := js(ref(fx.s.LiveAPI)) + `,"/` + stack.LiveStageName + `/*/@connections/*"`
	for _, fn := range deploy.Functions {
		scoped = append(scoped,
			struct{ fn, action, resource, condition string }{fn, "events:PutEvents", js(getAtt(fx.s.Bus, "Arn")), `"events:source":"` + events.Source + `"`},
			struct{ fn, action, resource, condition string }{fn, "execute-api:ManageConnections", connections, ""})
	}
	for _, c := range scoped {
		t.Run(c.fn+" "+c.action+" "+c.resource, func(t *testing.T) {
			found := false
			for _, st := range statementsOf(fx.s.Roles[c.fn]) {
				if !slices.Contains(st.Actions, c.action) || !strings.Contains(js(st.Resources), c.resource) {
					continue
				}
				found = true
				// Every statement granting the action on the resource carries the
				// condition, so no second statement can lift it.
				if c.condition != "" && !strings.Contains(js(st.Condition), c.condition) {
					t.Errorf("%s %s condition %s, want %s", c.fn, c.action, js(st.Condition), c.condition)
				}
			}
			if !found {
				t.Errorf("%s has no %s on %s", c.fn, c.action, c.resource)
			}
		})
	}
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func allPrefixed(actions []string, prefix string) bool {
	for _, a := range actions {
		if !strings.HasPrefix(a, prefix) {
			return false
		}
	}
	return len(actions) > 0
}

func TestSchedulerRole(t *testing.T) {
	// GIVEN the role the one-time schedules run as WHEN read THEN only Scheduler, for
	// this account's group, may assume it, and it may only invoke expiry and dead-letter.
	role := fx.resources[logicalID(fx.s.Scheduler)]
	trust := js(role.Properties["AssumeRolePolicyDocument"])
	for _, want := range []string{`"Service":"scheduler.amazonaws.com"`, `"aws:SourceAccount"`, `"aws:SourceArn":` + js(getAtt(fx.s.Schedules, "Arn"))} {
		if !strings.Contains(trust, want) {
			t.Errorf("trust policy %s lacks %s", trust, want)
		}
	}
	if got := actionsOf(fx.s.Scheduler); !slices.Equal(got, []string{"lambda:InvokeFunction", "sqs:SendMessage"}) {
		t.Errorf("scheduler role actions %v", got)
	}
	for _, st := range statementsOf(fx.s.Scheduler) {
		want := map[string]string{"lambda:InvokeFunction": js([]any{getAtt(fx.s.Functions[deploy.Expiry], "Arn")}), "sqs:SendMessage": js([]any{getAtt(fx.s.ScheduleDLQ, "Arn")})}[st.Actions[0]]
		if js(st.Resources) != want {
			t.Errorf("%v on %s, want %s", st.Actions, js(st.Resources), want)
		}
	}
	must(t, "schedule group", func() { fx.template.ResourceCountIs(jsii.String("AWS::Scheduler::ScheduleGroup"), jsii.Number(1)) })
}

func TestAPI(t *testing.T) {
	routes := ofAPI("AWS::ApiGatewayV2::Route", fx.s.API)
	byKey := map[string]resource{}
	for _, r := range routes {
		byKey[r.Properties["RouteKey"].(string)] = r
	}
	if len(routes) != len(stack.Routes) {
		t.Errorf("%d routes in the template, want %d", len(routes), len(stack.Routes))
	}
	authorizer := ""
	for id := range ofAPI("AWS::ApiGatewayV2::Authorizer", fx.s.API) {
		authorizer = id
	}
	integrations := map[string]string{}
	for id, r := range ofAPI("AWS::ApiGatewayV2::Integration", fx.s.API) {
		uri := js(r.Properties["IntegrationUri"])
		for _, fn := range deploy.Functions {
			if strings.Contains(uri, logicalID(fx.s.Functions[fn])) {
				integrations[fn] = id
			}
		}
		if r.Properties["PayloadFormatVersion"] != "2.0" {
			t.Errorf("integration %s payload %v, want 2.0", id, r.Properties["PayloadFormatVersion"])
		}
	}
	for _, rt := range stack.Routes {
		key := rt.Method + " " + rt.Path
		t.Run(key, func(t *testing.T) {
			// GIVEN the route WHEN read THEN technician routes need the Cognito JWT, agent,
			// join and console routes do not, and each reaches its function.
			r, ok := byKey[key]
			if !ok {
				t.Fatalf("route %s missing", key)
			}
			auth, _ := r.Properties["AuthorizationType"].(string)
			if rt.Technician {
				if auth != "JWT" || js(r.Properties["AuthorizerId"]) != js(map[string]any{"Ref": authorizer}) {
					t.Errorf("%s: authorization %q %v, want the JWT authorizer", key, auth, r.Properties["AuthorizerId"])
				}
			} else if (auth != "" && auth != "NONE") || r.Properties["AuthorizerId"] != nil {
				t.Errorf("%s: authorization %q, want none", key, auth)
			}
			if target := js(r.Properties["Target"]); !strings.Contains(target, integrations[rt.Function]) || integrations[rt.Function] == "" {
				t.Errorf("%s targets %s, want the %s integration", key, target, rt.Function)
			}
		})
	}
	t.Run("authorizer", func(t *testing.T) {
		must(t, "JWT authorizer of the user pool for the console client", func() {
			fx.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
				"AuthorizerType": "JWT",
				"IdentitySource": []any{"$request.header.Authorization"},
				"JwtConfiguration": map[string]any{
					"Audience": []any{ref(fx.s.Client)},
					"Issuer":   assertions.Match_AnyValue(),
				},
			})
		})
		issuer := js(fx.resources[authorizer].Properties["JwtConfiguration"].(map[string]any)["Issuer"])
		if !strings.Contains(issuer, "https://cognito-idp.") || !strings.Contains(issuer, logicalID(fx.s.UserPool)) {
			t.Errorf("issuer %s, want the user pool's", issuer)
		}
	})
	t.Run("stage", func(t *testing.T) {
		// GIVEN the default stage WHEN read THEN it throttles and writes access logs that
		// never contain a request path (the join path holds the invite token).
		must(t, "stage", func() {
			fx.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
				"StageName":            "$default",
				"AutoDeploy":           true,
				"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200},
				"AccessLogSettings":    map[string]any{"DestinationArn": assertions.Match_AnyValue(), "Format": assertions.Match_StringLikeRegexp(jsii.String(`\$context\.routeKey`))},
			})
		})
		for _, st := range ofAPI("AWS::ApiGatewayV2::Stage", fx.s.API) {
			format := st.Properties["AccessLogSettings"].(map[string]any)["Format"].(string)
			for _, leak := range []string{"$context.path", "$context.requestPath", "$context.authorizer.claims.email"} {
				if strings.Contains(format, leak) {
					t.Errorf("access log format logs %s", leak)
				}
			}
			if js(st.Properties["AccessLogSettings"]) == "" || !strings.Contains(js(st.Properties["AccessLogSettings"]), logicalID(fx.s.Stack.Node().FindChild(jsii.String("ApiAccessLogs")))) {
				t.Errorf("access logs go to %s, want the ApiAccessLogs group", js(st.Properties["AccessLogSettings"]))
			}
		}
	})
	t.Run("CORS for the console's origin only", func(t *testing.T) {
		// GIVEN consoleOrigin set WHEN the stack is synthesized THEN the API admits that one
		// origin, the methods the console uses, and the Authorization header.
		ctx, err := cdkContext()
		if err != nil {
			t.Fatal(err)
		}
		ctx[stack.CtxConsoleOrigin] = "https://console.example.org"
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
		cfg, err := stack.ConfigFrom(func(k string) any { return app.Node().TryGetContext(jsii.String(k)) })
		if err != nil {
			t.Fatal(err)
		}
		s := stack.NewAdhocSupportStack(app, "AdhocSupportCors", &stack.AdhocSupportStackProps{Config: cfg, AssetDir: fx.assetDir})
		must(t, "api", func() {
			assertions.Template_FromStack(s.Stack, nil).HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{
				"CorsConfiguration": map[string]any{
					"AllowOrigins": []any{"https://console.example.org"},
					"AllowMethods": assertions.Match_ArrayWith(&[]any{"GET", "POST", "DELETE"}),
					"AllowHeaders": assertions.Match_ArrayWith(&[]any{"Authorization"}),
				},
			})
		})
	})
	t.Run("no CORS by default", func(t *testing.T) {
		// GIVEN no consoleOrigin WHEN the API is read THEN it answers no CORS preflight.
		must(t, "api", func() {
			fx.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{
				"ProtocolType": "HTTP", "CorsConfiguration": assertions.Match_Absent(),
			})
		})
	})
}

func TestUserPool(t *testing.T) {
	// GIVEN the stack WHEN the Cognito pieces are read THEN technicians are created by
	// admins only, sign in with e-mail and TOTP, carry an immutable account, and the
	// console is a public code+PKCE client redirecting to the API.
	cases := []struct {
		name  string
		typ   string
		props map[string]any
	}{
		{"pool", "AWS::Cognito::UserPool", map[string]any{
			"AdminCreateUserConfig": map[string]any{"AllowAdminCreateUserOnly": true},
			"UsernameAttributes":    []any{"email"},
			"MfaConfiguration":      "ON",
			"EnabledMfas":           []any{"SOFTWARE_TOKEN_MFA"},
			"DeletionProtection":    "ACTIVE",
			"Schema": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Name": stack.AccountAttribute, "AttributeDataType": "String", "Mutable": false,
			})}),
		}},
		{"admins group", "AWS::Cognito::UserPoolGroup", map[string]any{"GroupName": stack.AdminsGroup, "UserPoolId": ref(fx.s.UserPool)}},
		{"console client", "AWS::Cognito::UserPoolClient", map[string]any{
			"GenerateSecret":     false,
			"AllowedOAuthFlows":  []any{"code"},
			"AllowedOAuthScopes": assertions.Match_ArrayWith(&[]any{"openid"}),
			"CallbackURLs":       []any{map[string]any{"Fn::Join": []any{"", []any{getAtt(fx.s.API, "ApiEndpoint"), "/"}}}},
			"ReadAttributes":     assertions.Match_ArrayWith(&[]any{"custom:account"}),
			"WriteAttributes":    assertions.Match_Not(assertions.Match_ArrayWith(&[]any{"custom:account"})),
		}},
		{"sign-in domain", "AWS::Cognito::UserPoolDomain", map[string]any{"UserPoolId": ref(fx.s.UserPool)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			must(t, c.name, func() { fx.template.HasResourceProperties(jsii.String(c.typ), c.props) })
		})
	}
	must(t, "pool retained", func() {
		fx.template.HasResource(jsii.String("AWS::Cognito::UserPool"), map[string]any{"DeletionPolicy": "Retain"})
	})
}

func TestEvents(t *testing.T) {
	// GIVEN the stack WHEN the EventBridge pieces are read THEN the bus has the
	// configured name, the archive matches exactly the events package, and the sweep
	// runs every 5 minutes with a dead-letter queue and retries.
	detailTypes := []any{}
	for _, d := range events.All {
		detailTypes = append(detailTypes, string(d))
	}
	cases := []struct {
		name  string
		typ   string
		props map[string]any
	}{
		{"bus", "AWS::Events::EventBus", map[string]any{"Name": fx.cfg.EventBusName}},
		{"archive of all product events", "AWS::Events::Archive", map[string]any{
			"SourceArn":    getAtt(fx.s.Bus, "Arn"),
			"EventPattern": map[string]any{"source": []any{events.Source}, "detail-type": detailTypes},
		}},
		{"sweep rule", "AWS::Events::Rule", map[string]any{
			"ScheduleExpression": "rate(5 minutes)",
			"State":              "ENABLED",
			"Targets": []any{map[string]any{
				"Arn":              getAtt(fx.s.Functions[deploy.Expiry], "Arn"),
				"Input":            js(stack.SweepInput),
				"DeadLetterConfig": map[string]any{"Arn": getAtt(fx.s.SweepDLQ, "Arn")},
				"RetryPolicy":      map[string]any{"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": assertions.Match_AnyValue()},
				"Id":               assertions.Match_AnyValue(),
			}},
		}},
		{"expiry's failed async invocations", "AWS::Lambda::EventInvokeConfig", map[string]any{
			"FunctionName":         ref(fx.s.Functions[deploy.Expiry]),
			"MaximumRetryAttempts": 2,
			"DestinationConfig":    map[string]any{"OnFailure": map[string]any{"Destination": getAtt(fx.s.ExpiryFailures, "Arn")}},
		}},
		{"rule may invoke expiry", "AWS::Lambda::Permission", map[string]any{
			"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com",
			"FunctionName": getAtt(fx.s.Functions[deploy.Expiry], "Arn"),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			must(t, c.name, func() { fx.template.HasResourceProperties(jsii.String(c.typ), c.props) })
		})
	}
	if js(stack.SweepInput) != `{"sweep":true}` {
		t.Errorf("sweep input %s", js(stack.SweepInput))
	}
}

func TestQueuesKeysMailBucket(t *testing.T) {
	tlsOnly := map[string]any{"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
		"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		"Action": assertions.Match_AnyValue(), "Principal": assertions.Match_AnyValue(), "Resource": assertions.Match_AnyValue(),
	}})}}
	type check struct {
		name  string
		typ   string
		props map[string]any
	}
	var cases []check
	for name, q := range map[string]constructs.IConstruct{"sweep": fx.s.SweepDLQ, "schedule": fx.s.ScheduleDLQ, "expiry failures": fx.s.ExpiryFailures} {
		cases = append(cases, check{name + " DLQ TLS only", "AWS::SQS::QueuePolicy", merged(tlsOnly, map[string]any{"Queues": []any{ref(q)}})})
		if p := fx.resources[logicalID(q)].Properties; p["SqsManagedSseEnabled"] != true || p["MessageRetentionPeriod"] != float64(14*24*3600) {
			t.Errorf("%s DLQ: %v, want SSE-SQS and 14 days retention", name, p)
		}
	}
	cases = append(cases,
		check{"password key rotates", "AWS::KMS::Key", map[string]any{"EnableKeyRotation": true, "Description": assertions.Match_StringLikeRegexp(jsii.String("password"))}},
		check{"HMAC key", "AWS::KMS::Key", map[string]any{"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}},
		check{"configuration set requires TLS", "AWS::SES::ConfigurationSet", map[string]any{"DeliveryOptions": map[string]any{"TlsPolicy": "REQUIRE"}}},
		check{"sender identity", "AWS::SES::EmailIdentity", map[string]any{"EmailIdentity": fx.cfg.MailFrom}},
		check{"app bucket", "AWS::S3::Bucket", map[string]any{
			"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
			"BucketEncryption":               assertions.Match_AnyValue(),
			"VersioningConfiguration":        map[string]any{"Status": "Enabled"},
			// No access logs: they would keep the invite token from presigned URLs.
			"LoggingConfiguration": assertions.Match_Absent(),
		}},
		check{"app bucket TLS only", "AWS::S3::BucketPolicy", merged(tlsOnly, map[string]any{"Bucket": ref(fx.s.AppBucket)})},
		check{"app build uploaded", "Custom::CDKBucketDeployment", map[string]any{"DestinationBucketName": ref(fx.s.AppBucket), "DestinationBucketKeyPrefix": deploy.AppKeyPrefix, "Prune": true}},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the stack WHEN the resource is read THEN it has the property.
			must(t, c.name, func() { fx.template.HasResourceProperties(jsii.String(c.typ), c.props) })
		})
	}
	must(t, "three queues", func() { fx.template.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(3)) })
	passwordKey := fx.resources[logicalID(fx.s.PasswordKey)]
	if _, ok := passwordKey.Properties["KeySpec"]; ok || passwordKey.Properties["EnableKeyRotation"] != true {
		t.Errorf("password key %v, want symmetric with rotation", passwordKey.Properties)
	}
}

func merged(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestAlarms(t *testing.T) {
	topic := ""
	for id := range ofType("AWS::SNS::Topic") {
		topic = id
	}
	must(t, "topic encrypted", func() {
		fx.template.HasResourceProperties(jsii.String("AWS::SNS::Topic"), map[string]any{"KmsMasterKeyId": assertions.Match_AnyValue()})
	})
	must(t, "alarm mail subscribed", func() {
		fx.template.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{"Protocol": "email", "Endpoint": alarmEmail, "TopicArn": map[string]any{"Ref": topic}})
	})
	type alarm struct {
		name, metric, namespace string
		dimension               map[string]any
		op                      string
		threshold               float64
	}
	var cases []alarm
	for _, fn := range deploy.Functions {
		dim := map[string]any{"Name": "FunctionName", "Value": ref(fx.s.Functions[fn])}
		if fn != deploy.Live { // its errors without refused handshakes: TestLiveErrorsAlarm
			cases = append(cases, alarm{fn + " errors", "Errors", "AWS/Lambda", dim, "GreaterThanOrEqualToThreshold", 1})
		}
		cases = append(cases, alarm{fn + " throttles", "Throttles", "AWS/Lambda", dim, "GreaterThanOrEqualToThreshold", 1})
	}
	for name, q := range map[string]constructs.IConstruct{"sweep": fx.s.SweepDLQ, "schedule": fx.s.ScheduleDLQ, "expiry failures": fx.s.ExpiryFailures} {
		cases = append(cases, alarm{name + " DLQ depth", "ApproximateNumberOfMessagesVisible", "AWS/SQS",
			map[string]any{"Name": "QueueName", "Value": getAtt(q, "QueueName")}, "GreaterThanThreshold", 0})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the stack WHEN its alarms are read THEN this one exists and notifies
			// the topic.
			must(t, c.name, func() {
				fx.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"MetricName":         c.metric,
					"Namespace":          c.namespace,
					"Dimensions":         []any{c.dimension},
					"ComparisonOperator": c.op,
					"Threshold":          c.threshold,
					"AlarmActions":       []any{map[string]any{"Ref": topic}},
				})
			})
		})
	}
}

func TestOutputs(t *testing.T) {
	// GIVEN the stack WHEN its outputs are read THEN an operator finds everything
	// docs/deploy.md refers to.
	for _, name := range []string{"ApiUrl", "ConsoleUrl", "UserPoolId", "UserPoolClientId", "SignInUrl", "EventBusName", "TableName", "AppBucketName", "LiveUrl"} {
		if _, ok := fx.outputs[name]; !ok {
			t.Errorf("output %s missing", name)
		}
	}
	if got := js(fx.outputs["TableName"]); !strings.Contains(got, js(ref(fx.s.Table))) {
		t.Errorf("TableName output %s", got)
	}
	if got := js(fx.outputs["LiveUrl"]); !strings.Contains(got, `"wss://",`+js(ref(fx.s.LiveAPI))) || !strings.Contains(got, `"/`+stack.LiveStageName+`"`) {
		t.Errorf("LiveUrl output %s, want wss://<the WebSocket API>…/%s", got, stack.LiveStageName)
	}
}

func TestCdkNag(t *testing.T) {
	// GIVEN the AwsSolutions pack applied to the app WHEN the stack is synthesized THEN
	// no error remains unsuppressed ...
	errs := fx.annotations.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, e := range *errs {
		t.Errorf("cdk-nag: %s", js(e)) // (the message type's fields are deprecated, JSON is not)
	}
	warnings := fx.annotations.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	t.Logf("cdk-nag: %d errors, %d warnings", len(*errs), len(*warnings))
	for _, w := range *warnings {
		t.Logf("cdk-nag warning: %s", js(w))
	}
	// ... and every suppression says why, in more than a few words.
	count := 0
	for id, r := range fx.resources {
		nag, _ := r.Metadata["cdk_nag"].(map[string]any)
		for _, raw := range list(nag["rules_to_suppress"]) {
			if raw == nil {
				continue
			}
			s := raw.(map[string]any)
			count++
			reason, _ := s["reason"].(string)
			if len(strings.Fields(reason)) < 15 {
				t.Errorf("%s: suppression of %v has a thin reason: %q", id, s["id"], reason)
			}
		}
	}
	if count == 0 {
		t.Error("no suppression found in the template metadata: the check above checked nothing")
	}
	// The suppressions above are written whether or not cdk-nag ran; its own report proves
	// that it did, rule by rule: checks were made, some found compliant, and nothing is
	// non-compliant that is not suppressed.
	f, err := os.Open(filepath.Join(fx.cloudDir, "AwsSolutions--AdhocSupport-NagReport.csv"))
	if err != nil {
		t.Fatalf("cdk-nag's report is missing, so cdk-nag did not run: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("cdk-nag's report: %d rows, %v", len(rows), err)
	}
	compliance := map[string]int{}
	for _, r := range rows[1:] { // Rule ID, Resource ID, Compliance, Exception Reason, Rule Level, Rule Info
		compliance[r[2]]++
		if r[2] == "Non-Compliant" {
			t.Errorf("cdk-nag: %s on %s is non-compliant (%s): %s", r[0], r[1], r[4], r[5])
		}
	}
	t.Logf("cdk-nag report: %v", compliance)
	// (One suppression may cover several findings, such as wildcard IAM resources.)
	if compliance["Compliant"] < 20 || compliance["Suppressed"] < count {
		t.Errorf("cdk-nag report %v: want at least 20 compliant checks and the %d suppressions applied", compliance, count)
	}
}
