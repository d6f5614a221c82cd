package lambdatest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	adhocevents "github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/apidoc"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestRealBootstrapsUnderTheEmulator builds the three functions and drives a session from
// invitation to removal through them, with DynamoDB Local, aws-ses-v2-local and the
// recording fake for KMS, EventBridge and Scheduler.
func TestRealBootstrapsUnderTheEmulator(t *testing.T) {
	rie, err := RIEPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bins, err := Build(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, table := testenv.Table(t)
	ses := testenv.SES(t)
	fake := NewFakeAWS()
	defer fake.Close()

	common := map[string]string{
		"AWS_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"TABLE_NAME": table, "EVENT_BUS_NAME": "adhoc-support", "KMS_KEY_ID": "alias/adhoc-password", "MAC_KEY_ID": "alias/adhoc-code",
		"SCHEDULE_GROUP": "adhoc-support", "SCHEDULER_ROLE_ARN": "arn:aws:iam::000000000000:role/scheduler",
		"EXPIRY_FUNCTION_ARN": "arn:aws:lambda:eu-central-1:000000000000:function:expiry",
		"EXPIRY_DLQ_ARN":      "arn:aws:sqs:eu-central-1:000000000000:expiry-dlq",
		"PUBLIC_BASE_URL":     "https://support.example.com", "POLL_INTERVAL_ACTIVE": "2s",
		"DYNAMODB_ENDPOINT": testenv.DynamoDBEndpoint(t),
	}
	emus := map[string]*Emulator{}
	for name, bin := range bins {
		env := map[string]string{}
		for k, v := range common {
			env[k] = v
		}
		// Each function meets KMS, EventBridge and Scheduler with only its own grants.
		scoped := fake.Scoped(name)
		defer scoped.Close()
		env["KMS_ENDPOINT"], env["EVENTBRIDGE_ENDPOINT"], env["SCHEDULER_ENDPOINT"] = scoped.Server.URL, scoped.Server.URL, scoped.Server.URL
		if name == "invitation" {
			env["MAIL_FROM"], env["SES_ENDPOINT"] = "support@example.com", ses
			env["AUTH_BASE_URL"], env["USER_POOL_CLIENT_ID"] = "https://auth.example.com", "console-client"
		}
		emu, err := StartEmulator(ctx, rie, bin, env)
		if err != nil {
			t.Fatal(err)
		}
		defer emu.Stop()
		emus[name] = emu
	}
	dump := func() {
		for name, e := range emus {
			t.Logf("--- %s ---\n%s", name, e.Output())
		}
	}

	claims := map[string]string{"sub": "tech-1", "email": "tina@example.com", "custom:account": "acme", "cognito:groups": "[admins]"}
	var res events.APIGatewayV2HTTPResponse
	invoke := func(fn string, req events.APIGatewayV2HTTPRequest, wantStatus int) map[string]any {
		t.Helper()
		res = events.APIGatewayV2HTTPResponse{}
		if err := emus[fn].Invoke(ctx, req, &res); err != nil {
			dump()
			t.Fatalf("%s %s: %v", fn, req.RawPath, err)
		}
		if res.StatusCode != wantStatus {
			dump()
			t.Fatalf("%s %s: status %d, want %d: %s (calls refused for want of a grant: %v)", fn, req.RawPath, res.StatusCode, wantStatus, res.Body, fake.Denied())
		}
		validateAnswer(t, req, res)
		out := map[string]any{}
		_ = json.Unmarshal([]byte(res.Body), &out)
		return out
	}

	const password = "Corr3ct-Horse-Battery"
	user := "rie-user@example.org"
	created := invoke("invitation", APIRequest(http.MethodPost, "/v1/sessions", `{"email":"`+user+`","password":"`+password+`","locale":"de"}`, claims, nil), http.StatusCreated)
	id, code := created["id"].(string), created["securityCode"].(string)
	mails := testenv.MailsTo(t, ses, user, time.Time{})
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	m := regexp.MustCompile(`https://support\.example\.com/join/([A-Za-z0-9_-]{43})`).FindStringSubmatch(mails[0].Text)
	if m == nil {
		t.Fatalf("no join link in the mail")
	}
	token := m[1]
	invoke("invitation", APIRequest(http.MethodPost, "/v1/sessions", `{"email":"x@example.org","password":"`+password+`"}`, claims, nil), http.StatusConflict)

	hello := protocol.HelloRequest{InviteToken: token, Platform: "windows", OSVersion: "Windows 11", Hostname: "PC-RIE", AgentVersion: "1.0.0", MachineID: "rie-machine"}
	body, _ := json.Marshal(hello)
	if out := invoke("pairing", APIRequest(http.MethodPost, protocol.PathHello, string(body), nil, nil), http.StatusOK); out["status"] != "app_started" {
		t.Fatalf("hello: %v", out)
	}
	pair := protocol.PairRequest{InviteToken: token, SecurityCode: code, Platform: "windows", OSVersion: "Windows 11", Hostname: "PC-RIE", MachineID: "rie-machine", Nonce: "8f14e45fceea167a5a36dedd4bea2543"}
	body, _ = json.Marshal(pair)
	paired := invoke("pairing", APIRequest(http.MethodPost, protocol.PathPair, string(body), nil, nil), http.StatusOK)
	if acc := paired["account"].(map[string]any); acc["password"] != password {
		t.Fatal("the paired app did not get the technician's password")
	}
	bearer := map[string]string{"authorization": "Bearer " + paired["agentToken"].(string)}
	if out := invoke("pairing", APIRequest(http.MethodPost, protocol.PathPoll, "", nil, bearer), http.StatusOK); out["status"] != "active" {
		t.Fatalf("poll: %v", out)
	}
	got := invoke("invitation", APIRequest(http.MethodGet, "/v1/sessions/"+id, "", claims, nil), http.StatusOK)
	if got["status"] != "active" {
		t.Fatalf("technician's view: %v", got)
	}
	if out := invoke("pairing", APIRequest(http.MethodPost, protocol.PathEnd, "", nil, bearer), http.StatusOK); out["status"] != "ended" {
		t.Fatalf("end: %v", out)
	}
	invoke("pairing", APIRequest(http.MethodPost, protocol.PathRemoved, "", nil, bearer), http.StatusNoContent)
	got = invoke("invitation", APIRequest(http.MethodGet, "/v1/sessions/"+id, "", claims, nil), http.StatusOK)
	if got["status"] != "removed" || got["endReason"] != "ended_by_user" {
		t.Fatalf("after removal: %v", got)
	}

	var sweep struct {
		Expired int `json:"expired"`
	}
	if err := emus["expiry"].Invoke(ctx, json.RawMessage(`{"sweep":true}`), &sweep); err != nil {
		dump()
		t.Fatal(err)
	}
	if err := emus["expiry"].Invoke(ctx, json.RawMessage(`{"sessionId":"`+id+`"}`), &sweep); err != nil || sweep.Expired != 0 {
		t.Fatalf("a late schedule for a removed session: %+v %v", sweep, err)
	}

	// What the functions sent to the services that cannot run here.
	var sources, types []string
	for _, c := range fake.Calls("events") {
		for _, e := range c.Body["Entries"].([]any) {
			entry := e.(map[string]any)
			sources = append(sources, entry["Source"].(string))
			types = append(types, entry["DetailType"].(string))
			if entry["EventBusName"] != "adhoc-support" {
				t.Errorf("event on bus %v", entry["EventBusName"])
			}
			if strings.Contains(entry["Detail"].(string), "@") {
				t.Errorf("an event carries an e-mail address: %s", entry["Detail"])
			}
		}
	}
	wantTypes := []string{string(adhocevents.SessionInvited), string(adhocevents.AppStarted), string(adhocevents.SessionActivated), string(adhocevents.SessionEnded), string(adhocevents.AppRemoved)}
	if strings.Join(types, ",") != strings.Join(wantTypes, ",") {
		t.Errorf("events %v, want %v", types, wantTypes)
	}
	for _, s := range sources {
		if s != adhocevents.Source {
			t.Errorf("event source %q", s)
		}
	}
	var created1 bool
	for _, c := range fake.Calls("scheduler") {
		if c.Action == "CreateSchedule" {
			created1 = true
			expr, _ := c.Body["ScheduleExpression"].(string)
			if !regexp.MustCompile(`^at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)$`).MatchString(expr) || c.Body["ActionAfterCompletion"] != "DELETE" {
				t.Errorf("schedule request: %v", c.Body)
			}
		}
	}
	if !created1 {
		t.Error("no one-time schedule was created")
	}
	var dataKeys, macs int
	for _, c := range fake.Calls("kms") {
		switch c.Action {
		case "GenerateDataKey":
			dataKeys++
			if c.Body["KeyId"] != "alias/adhoc-password" || c.Body["EncryptionContext"] == nil {
				t.Errorf("GenerateDataKey: %v", c.Body)
			}
		case "GenerateMac":
			macs++
			if c.Body["KeyId"] != "alias/adhoc-code" || c.Body["MacAlgorithm"] != "HMAC_SHA_256" {
				t.Errorf("GenerateMac: %v", c.Body)
			}
		}
	}
	if dataKeys == 0 || macs < 2 {
		t.Errorf("KMS calls: %d data keys, %d MACs", dataKeys, macs)
	}
	if denied := fake.Denied(); len(denied) > 0 {
		t.Errorf("calls the functions' grants do not allow (internal/grants): %+v", denied)
	}
	if unknown := fake.Calls("unknown"); len(unknown) > 0 {
		t.Errorf("requests the fake does not play: %v", unknown)
	}
	for name, e := range emus {
		if d, err := e.InitDuration(); err == nil {
			t.Logf("%s: init %s", name, d)
		}
		if strings.Contains(e.Output(), password) || strings.Contains(e.Output(), code) || strings.Contains(e.Output(), token) {
			t.Errorf("%s logged a secret", name)
		}
	}
}

// validateAnswer checks a real bootstrap's answer against api/openapi.yaml, as the
// end-to-end tests do for the in-process handlers.
func validateAnswer(t *testing.T, ev events.APIGatewayV2HTTPRequest, res events.APIGatewayV2HTTPResponse) {
	t.Helper()
	doc, err := apidoc.Load()
	if err != nil {
		t.Fatal(err)
	}
	target := "https://api.example.com" + ev.RawPath
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	req, err := http.NewRequest(ev.RequestContext.HTTP.Method, target, strings.NewReader(ev.Body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if a := ev.RequestContext.Authorizer; a != nil && a.JWT != nil && req.Header.Get("Authorization") == "" {
		// The JWT authorizer checked a bearer token before the event reached the function;
		// the event carries its claims, not the header.
		req.Header.Set("Authorization", "Bearer checked-by-the-authorizer")
	}
	header := http.Header{}
	for k, v := range res.Headers {
		header.Set(k, v)
	}
	for k, vs := range res.MultiValueHeaders {
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
			t.Fatalf("%s %s: base64 body: %v", req.Method, ev.RawPath, err)
		}
	}
	if err := doc.ValidateResponse(req, []byte(ev.Body), res.StatusCode, header, body); err != nil {
		t.Errorf("%s %s: the answer differs from api/openapi.yaml: %v", req.Method, ev.RawPath, err)
	}
}
