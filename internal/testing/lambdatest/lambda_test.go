package lambdatest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	adhocevents "github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/liveapi"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/testing/apidoc"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestRealBootstrapsUnderTheEmulator builds the four functions and drives a session from
// invitation to removal through them, with the app and a console on the live channel and a
// remote connection signalled between them and reported, with DynamoDB Local,
// aws-ses-v2-local and the recording fake for KMS, EventBridge, Scheduler, @connections and
// Kinesis Video Streams.
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
	db, table := testenv.Table(t)
	st := store.New(db, table)
	ses := testenv.SES(t)
	fake := NewFakeAWS()
	defer fake.Close()

	common := map[string]string{
		"AWS_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		deploy.EnvTableName: table, deploy.EnvEventBusName: "adhoc-support", deploy.EnvScheduleGroup: "adhoc-support",
		deploy.EnvPublicBaseURL: "https://support.example.com", deploy.EnvPollActive: "2s",
		deploy.EnvLiveEndpoint: liveEndpoint, deploy.EnvLiveURL: liveURL,
		EndpointEnv(dynamodb.ServiceID): testenv.DynamoDBEndpoint(t),
	}
	// What the stack gives only the functions that create schedules and use the keys.
	scheduling := map[string]string{
		deploy.EnvPasswordKey: "alias/adhoc-password", deploy.EnvMACKey: "alias/adhoc-code",
		deploy.EnvSchedulerRole:  "arn:aws:iam::000000000000:role/scheduler",
		deploy.EnvExpiryFunction: "arn:aws:lambda:eu-central-1:000000000000:function:expiry",
		deploy.EnvExpiryDLQ:      "arn:aws:sqs:eu-central-1:000000000000:expiry-dlq",
	}
	emus := map[string]*Emulator{}
	for name, bin := range bins {
		env := map[string]string{}
		for k, v := range common {
			env[k] = v
		}
		if name == deploy.Invitation || name == deploy.Pairing {
			for k, v := range scheduling {
				env[k] = v
			}
		}
		// Each function meets KMS, EventBridge, Scheduler and @connections with only its
		// own grants, through the SDK's own endpoint variables: LIVE_ENDPOINT stays the
		// stage's URL, as the stack sets it.
		scoped := fake.Scoped(name)
		defer scoped.Close()
		for _, id := range []string{kms.ServiceID, eventbridge.ServiceID, scheduler.ServiceID, apigatewaymanagementapi.ServiceID, kinesisvideo.ServiceID} {
			env[EndpointEnv(id)] = scoped.Server.URL
		}
		if name == deploy.Invitation {
			env[deploy.EnvMailFrom], env[EndpointEnv(sesv2.ServiceID)] = "support@example.com", ses
			env[deploy.EnvAuthBaseURL], env[deploy.EnvUserPoolClient] = "https://auth.example.com", "console-client"
			// Remote access's TURN is KVS's, played by the fake (its channels and the
			// channel's HTTPS endpoint), so the real adapter and its grants are what runs.
			env[deploy.EnvKVSChannels] = kvsPrefix
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
	if paired["liveUrl"] != liveURL {
		t.Errorf("pair answer's liveUrl %v, want %s", paired["liveUrl"], liveURL)
	}

	// The live channel: the app and a console tab connect, ping, send garbage, and hear of
	// the technician's "End session".
	live := liveDriver{t: t, ctx: ctx, emu: emus["live"], dump: dump}
	appCtx := live.allow(LiveAuthorizerRequest(appConn, map[string]string{"Authorization": bearer["authorization"]}, nil))
	if appCtx["kind"] != "app" || appCtx["sessionId"] != id || appCtx["account"] != "acme" {
		t.Errorf("the app's authorizer context %v, want kind app, session %s, account acme", appCtx, id)
	}
	live.refuse("garbage token", LiveAuthorizerRequest("conn-garbage", map[string]string{"Authorization": "Bearer not-a-token"}, nil))
	live.refuse("no credential", LiveAuthorizerRequest("conn-none", nil, nil))
	ticket := invoke("invitation", APIRequest(http.MethodPost, "/v1/live/tickets", "", claims, nil), http.StatusCreated)
	tk, _ := ticket["ticket"].(string)
	if u, _ := ticket["url"].(string); tk == "" || u != liveURL+"?ticket="+tk {
		t.Fatalf("ticket answer %v, want a ticket and %s?ticket=<ticket>", ticket, liveURL)
	}
	consoleCtx := live.allow(LiveAuthorizerRequest(consoleConn, nil, map[string]string{"ticket": tk}))
	if consoleCtx["kind"] != "console" || consoleCtx["technician"] != "tech-1" || consoleCtx["admin"] != "true" {
		t.Errorf("the console's authorizer context %v, want kind console, technician tech-1, admin", consoleCtx)
	}
	live.refuse("a used ticket", LiveAuthorizerRequest("conn-again", nil, map[string]string{"ticket": tk}))
	// Each refusal is one JSON line with this "msg": the stack's metric filter counts them
	// to keep refusals out of the live function's errors alarm (infra/stack).
	refusal, _ := json.Marshal(map[string]string{"msg": liveapi.LogHandshakeRefused})
	refusals := func() int { return strings.Count(emus["live"].Output(), strings.Trim(string(refusal), "{}")) }
	// The emulator may pass the function's output on a moment after the answer.
	for deadline := time.Now().Add(5 * time.Second); refusals() < 3 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := refusals(); n != 3 {
		t.Errorf("the live function logged %d refused handshakes, want 3 (garbage, none, a used ticket)", n)
	}

	live.route(LiveRequest(liveapi.RouteConnect, consoleConn, consoleCtx, ""), http.StatusOK)
	// A second console tab whose connection dropped without its $disconnect.
	gone := invoke("invitation", APIRequest(http.MethodPost, "/v1/live/tickets", "", claims, nil), http.StatusCreated)
	goneCtx := live.allow(LiveAuthorizerRequest(goneConn, nil, map[string]string{"ticket": gone["ticket"].(string)}))
	live.route(LiveRequest(liveapi.RouteConnect, goneConn, goneCtx, ""), http.StatusOK)
	live.route(LiveRequest(liveapi.RouteConnect, appConn, appCtx, ""), http.StatusOK)
	if ss, err := st.GetSession(ctx, id); err != nil || ss.LiveConnection != appConn {
		t.Fatalf("session item after the app's $connect: connection %q (%v), want %s", ss.LiveConnection, err, appConn)
	}
	if consoles, err := st.Consoles(ctx, "acme"); err != nil || len(consoles) != 2 {
		t.Fatalf("console connections after $connect: %+v (%v), want two", consoles, err)
	}
	fake.Gone(goneConn)

	live.route(LiveRequest(liveapi.RoutePing, appConn, appCtx, `{"action":"ping"}`), http.StatusOK)
	if msgs := live.messages(fake.Pushes(appConn)); len(msgs) != 1 || msgs[0]["type"] != protocol.TypePong {
		t.Fatalf("pushes to the app after a ping: %v, want one pong", msgs)
	}
	live.route(LiveRequest(liveapi.RouteDefault, consoleConn, consoleCtx, `{"action":`), http.StatusOK)
	if msgs := live.messages(fake.Pushes(consoleConn)); len(msgs) == 0 || msgs[len(msgs)-1]["type"] != protocol.TypeError || msgs[len(msgs)-1]["code"] != protocol.LiveCodeMalformed {
		t.Fatalf("pushes to the console after a malformed message: %v, want an error %s last", msgs, protocol.LiveCodeMalformed)
	}

	// Remote access: the technician starts a remote connection (invitation: the ICE servers
	// from KVS, the remote message to the app), the console's offer and the app's answer go
	// through the live function.
	appBefore := len(fake.Pushes(appConn))
	started := invoke("invitation", APIRequest(http.MethodPost, "/v1/sessions/"+id+"/remote", "", claims, nil), http.StatusCreated)
	remoteID, _ := started["remoteId"].(string)
	servers, _ := started["iceServers"].([]any)
	if !strings.HasPrefix(remoteID, "r-") || len(servers) != 1 || !strings.Contains(js(servers), "kinesisvideo") {
		t.Fatalf("remote started: %v", started)
	}
	toApp := live.messages(fake.Pushes(appConn)[appBefore:])
	if len(toApp) != 1 || toApp[0]["type"] != protocol.TypeRemote || toApp[0]["remoteId"] != remoteID || js(toApp[0]["iceServers"]) != js(servers) {
		t.Fatalf("pushed to the app after the start: %v, want the remote message with the same ICE servers", toApp)
	}
	var kvsCalls []string
	for _, c := range fake.Calls("kinesisvideo") {
		kvsCalls = append(kvsCalls, c.Function+" "+c.Action)
		if c.Action == "CreateSignalingChannel" && !strings.HasPrefix(c.Body["ChannelName"].(string), kvsPrefix+"-") {
			t.Errorf("channel %v, want one of the prefix %s", c.Body["ChannelName"], kvsPrefix)
		}
	}
	if want := "invitation DescribeSignalingChannel,invitation CreateSignalingChannel,invitation DescribeSignalingChannel,invitation DescribeSignalingChannel," +
		"invitation GetSignalingChannelEndpoint,invitation GetIceServerConfig"; strings.Join(kvsCalls, ",") != want {
		t.Errorf("KVS calls %v\nwant %s", kvsCalls, want)
	}
	offer := `{"action":"signal","sessionId":"` + id + `","remoteId":"` + remoteID + `","signal":{"kind":"offer","sdp":"v=0\r\n"}}`
	appBefore = len(fake.Pushes(appConn))
	live.route(LiveRequest(liveapi.RouteSignal, consoleConn, consoleCtx, offer), http.StatusOK)
	if toApp := live.messages(fake.Pushes(appConn)[appBefore:]); len(toApp) != 1 || toApp[0]["type"] != protocol.TypeSignal || toApp[0]["remoteId"] != remoteID {
		t.Fatalf("relayed to the app: %v, want the console's offer", toApp)
	}
	consoleBefore := len(fake.Pushes(consoleConn))
	live.route(LiveRequest(liveapi.RouteSignal, appConn, appCtx, `{"action":"signal","remoteId":"`+remoteID+`","signal":{"kind":"answer","sdp":"v=0\r\n"}}`), http.StatusOK)
	var answered, connected bool
	for _, m := range live.messages(fake.Pushes(consoleConn)[consoleBefore:]) {
		answered = answered || m["type"] == protocol.TypeSignal && m["sessionId"] == id
		if rm, ok := m["remote"].(map[string]any); ok && m["type"] == protocol.TypeSession {
			connected = rm["state"] == "connected"
		}
	}
	if !answered || !connected {
		t.Errorf("the console after the app's answer: relayed %v, shown connected %v", answered, connected)
	}

	appBefore, consoleBefore = len(fake.Pushes(appConn)), len(fake.Pushes(consoleConn))
	ended := invoke("invitation", APIRequest(http.MethodDelete, "/v1/sessions/"+id, "", claims, nil), http.StatusOK)
	if ended["status"] != "ended" {
		t.Fatalf("technician's end: %v", ended)
	}
	toApp = live.messages(fake.Pushes(appConn)[appBefore:])
	if len(toApp) != 1 || toApp[0]["type"] != protocol.TypeStatus || toApp[0]["status"] != "ended" {
		t.Errorf("pushed to the app after the technician's end: %v, want one status ended", toApp)
	}
	toConsole := live.messages(fake.Pushes(consoleConn)[consoleBefore:])
	if len(toConsole) != 1 || toConsole[0]["type"] != protocol.TypeSession || toConsole[0]["id"] != id || toConsole[0]["status"] != "ended" {
		t.Errorf("pushed to the console after the technician's end: %v, want one session %s ended", toConsole, id)
	}
	for _, c := range fake.Calls("execute-api") {
		if c.Connection == appConn && c.Action == ActionPostToConnection && c.Body["status"] == "ended" && c.Function != "invitation" {
			t.Errorf("the end was pushed by %s, want the invitation function that committed it", c.Function)
		}
	}
	// The gone tab was tried and then forgotten.
	tried := false
	for _, c := range fake.Calls("execute-api") {
		tried = tried || (c.Connection == goneConn && c.Gone && c.Function == "invitation")
	}
	if !tried {
		t.Errorf("the invitation function never tried the gone console connection")
	}
	if consoles, err := st.Consoles(ctx, "acme"); err != nil || len(consoles) != 1 || consoles[0].ID != consoleConn {
		t.Errorf("console connections after a push met a gone one: %+v (%v), want only %s", consoles, err, consoleConn)
	}

	live.route(LiveRequest(liveapi.RouteDisconnect, appConn, appCtx, ""), http.StatusOK)
	live.route(LiveRequest(liveapi.RouteDisconnect, consoleConn, consoleCtx, ""), http.StatusOK)
	if ss, err := st.GetSession(ctx, id); err != nil || ss.LiveConnection != "" {
		t.Errorf("session item after the app's $disconnect: connection %q (%v), want none", ss.LiveConnection, err)
	}
	if consoles, err := st.Consoles(ctx, "acme"); err != nil || len(consoles) != 0 {
		t.Errorf("console connections after $disconnect: %+v (%v), want none", consoles, err)
	}

	// The app closed the remote connection at the end and reports it, twice (a retry).
	report := `{"remoteId":"` + remoteID + `","reason":"session_ended","channels":["terminal","files"],"durationMs":4321,"bytesToPc":10,"bytesFromPc":20}`
	invoke("pairing", APIRequest(http.MethodPost, protocol.PathRemoteEnded, report, nil, bearer), http.StatusNoContent)
	invoke("pairing", APIRequest(http.MethodPost, protocol.PathRemoteEnded, report, nil, bearer), http.StatusNoContent)
	audit := invoke("invitation", APIRequest(http.MethodGet, "/v1/sessions/"+id+"/audit", "", claims, nil), http.StatusOK)
	var remoteAudit []string
	for _, e := range audit["entries"].([]any) {
		entry := e.(map[string]any)
		if a := entry["action"].(string); strings.HasPrefix(a, "remote_") {
			remoteAudit = append(remoteAudit, a+" "+entry["detail"].(string))
		}
	}
	if len(remoteAudit) != 2 || !strings.HasPrefix(remoteAudit[0], "remote_started remoteId="+remoteID) ||
		remoteAudit[1] != "remote_ended remoteId="+remoteID+" technician=tech-1 reason=session_ended channels=terminal,files durationMs=4321 bytesToPc=10 bytesFromPc=20" {
		t.Errorf("the remote connection's audit: %q", remoteAudit)
	}

	// The app learns of the end (by the push, or its next poll), ends on its side, which
	// changes nothing now, and cleans up.
	if out := invoke("pairing", APIRequest(http.MethodPost, protocol.PathEnd, "", nil, bearer), http.StatusOK); out["status"] != "ended" {
		t.Fatalf("end: %v", out)
	}
	invoke("pairing", APIRequest(http.MethodPost, protocol.PathRemoved, "", nil, bearer), http.StatusNoContent)
	got = invoke("invitation", APIRequest(http.MethodGet, "/v1/sessions/"+id, "", claims, nil), http.StatusOK)
	if got["status"] != "removed" || got["endReason"] != "ended_by_technician" {
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
			if strings.Contains(entry["Detail"].(string), "@") || strings.Contains(entry["Detail"].(string), "fake-turn-credential") {
				t.Errorf("an event carries an e-mail address or a TURN credential: %s", entry["Detail"])
			}
		}
	}
	wantTypes := []string{string(adhocevents.SessionInvited), string(adhocevents.AppStarted), string(adhocevents.SessionActivated),
		string(adhocevents.RemoteAccessStarted), string(adhocevents.SessionEnded), string(adhocevents.RemoteAccessEnded), string(adhocevents.AppRemoved)}
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
		for _, secret := range []string{password, code, token, bearer["authorization"][len("Bearer "):], tk, "fake-turn-credential"} {
			if strings.Contains(e.Output(), secret) {
				t.Errorf("%s logged a secret", name)
			}
		}
	}
}

// The live channel's addresses and connection ids in the emulator test.
const (
	liveURL      = "wss://abc123.execute-api.eu-central-1.amazonaws.com/live"
	liveEndpoint = "https://abc123.execute-api.eu-central-1.amazonaws.com/live"
	appConn      = "AppConn0001="
	consoleConn  = "ConsoleConn1="
	goneConn     = "GoneConn0001="
	kvsPrefix    = "AdhocSupport"
)

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// liveDriver invokes the live bootstrap with the WebSocket API's events.
type liveDriver struct {
	t    *testing.T
	ctx  context.Context
	emu  *Emulator
	dump func()
}

// allow expects the authorizer to let the handshake in, and returns the context API
// Gateway hands to the connection's later events.
func (d liveDriver) allow(req liveapi.AuthorizerRequest) map[string]any {
	d.t.Helper()
	var res events.APIGatewayCustomAuthorizerResponse
	if err := d.emu.Invoke(d.ctx, req, &res); err != nil {
		d.dump()
		d.t.Fatalf("authorizer for %s: %v", req.RequestContext.ConnectionID, err)
	}
	stmts := res.PolicyDocument.Statement
	if len(stmts) != 1 || stmts[0].Effect != "Allow" || strings.Join(stmts[0].Action, ",") != "execute-api:Invoke" ||
		strings.Join(stmts[0].Resource, ",") != req.MethodArn || res.PrincipalID == "" {
		d.t.Fatalf("authorizer for %s: %+v, want principal and Allow execute-api:Invoke on %s", req.RequestContext.ConnectionID, res, req.MethodArn)
	}
	ctx := map[string]any{"principalId": res.PrincipalID}
	for k, v := range res.Context {
		ctx[k] = v
	}
	return ctx
}

// refuse expects the authorizer to fail with "Unauthorized", which API Gateway answers
// with 401 and stores no connection for.
func (d liveDriver) refuse(what string, req liveapi.AuthorizerRequest) {
	d.t.Helper()
	var res json.RawMessage
	err := d.emu.Invoke(d.ctx, req, &res)
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Message != liveapi.ErrUnauthorized.Error() {
		d.t.Errorf("authorizer with %s: %s, %v; want the error %q", what, res, err, liveapi.ErrUnauthorized)
	}
}

// route invokes a route and checks the status of its answer.
func (d liveDriver) route(ev events.APIGatewayWebsocketProxyRequest, want int) {
	d.t.Helper()
	var res events.APIGatewayProxyResponse
	if err := d.emu.Invoke(d.ctx, ev, &res); err != nil {
		d.dump()
		d.t.Fatalf("%s on %s: %v", ev.RequestContext.RouteKey, ev.RequestContext.ConnectionID, err)
	}
	if res.StatusCode != want {
		d.dump()
		d.t.Fatalf("%s on %s: status %d, want %d", ev.RequestContext.RouteKey, ev.RequestContext.ConnectionID, res.StatusCode, want)
	}
}

// messages checks each pushed message against api/asyncapi.yaml and returns them decoded.
func (d liveDriver) messages(pushes []Call) []map[string]any {
	d.t.Helper()
	doc, err := apidoc.LoadLive()
	if err != nil {
		d.t.Fatal(err)
	}
	out := make([]map[string]any, 0, len(pushes))
	for _, p := range pushes {
		if err := doc.ValidateServerMessage(p.Raw); err != nil {
			d.t.Errorf("pushed %s: differs from api/asyncapi.yaml: %v", p.Raw, err)
		}
		out = append(out, p.Body)
	}
	return out
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
