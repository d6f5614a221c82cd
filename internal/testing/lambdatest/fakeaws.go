// Package lambdatest runs the real function bootstraps under the Lambda Runtime Interface
// Emulator. The services that cannot run on a developer's machine (KMS, EventBridge,
// Scheduler, the WebSocket API's @connections, Kinesis Video Streams' signalling channels
// and their TURN servers) are played by FakeAWS, an HTTP server that
// speaks just enough of their wire protocols for the AWS SDK and records every request, so
// tests check what the functions really send.
package lambdatest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/grants"
)

// Call is one recorded request to FakeAWS.
type Call struct {
	Service  string // "kms", "events", "scheduler", "execute-api", "kinesisvideo"
	Action   string // e.g. "GenerateDataKey", "PutEvents", "CreateSchedule", "PostToConnection"
	Path     string
	Body     map[string]any // the JSON body (for PostToConnection: the message)
	Raw      []byte         // the body as sent
	Function string         // the function whose scoped fake took the call; "" when unscoped
	Denied   bool           // refused: the function has no grant for it (internal/grants)
	// Connection is the live connection an @connections call names; Gone, that the fake
	// answered 410 because the connection was gone.
	Connection string
	Gone       bool
}

// The @connections management API: POST sends a message, DELETE closes the connection,
// GET describes it. All three are the one IAM action grants.ManageConnections.
const (
	ActionPostToConnection = "PostToConnection"
	ActionDeleteConnection = "DeleteConnection"
	ActionGetConnection    = "GetConnection"
)

// connectionsPath is where the SDK sends @connections calls, below the stage endpoint
// (LIVE_ENDPOINT): /{stage}/@connections/{id} in AWS, /@connections/{id} on the fake.
const connectionsPath = "/@connections/"

// FakeAWS plays KMS, EventBridge, EventBridge Scheduler, the WebSocket API's @connections
// and Kinesis Video Streams' signalling channels with their HTTPS endpoint (which answers
// GetIceServerConfig). A fake made with Scoped answers for one function only and refuses, as IAM
// would, every action internal/grants does not give that function.
type FakeAWS struct {
	Server *httptest.Server
	*fakeState
	function string
}

// fakeState is shared by a fake and the scoped fakes made from it: one record of calls,
// one KMS key, so that what one function seals another can open.
type fakeState struct {
	mu     sync.Mutex
	calls  []Call
	master []byte // the "KMS key": data keys are wrapped with it
	mac    []byte
	gone   map[string]bool // live connections that answer 410
	// channels are the KVS signalling channels by name: CREATING until described once.
	channels map[string]string
}

// NewFakeAWS starts the fake; Close it when done.
func NewFakeAWS() *FakeAWS {
	f := &FakeAWS{fakeState: &fakeState{master: make([]byte, 32), mac: make([]byte, 32), gone: map[string]bool{}, channels: map[string]string{}}}
	_, _ = rand.Read(f.master)
	_, _ = rand.Read(f.mac)
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// Scoped starts a fake for one function (a folder name under functions/) that shares
// this fake's state; Close it when done.
func (f *FakeAWS) Scoped(function string) *FakeAWS {
	s := &FakeAWS{fakeState: f.fakeState, function: function}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the fake.
func (f *FakeAWS) Close() { f.Server.Close() }

// Denied returns the calls refused for want of a grant.
func (f *FakeAWS) Denied() []Call {
	var out []Call
	for _, c := range f.Calls("") {
		if c.Denied {
			out = append(out, c)
		}
	}
	return out
}

// Gone makes the fake answer 410 GoneException for these live connections, as API Gateway
// does for a connection that has closed.
func (f *FakeAWS) Gone(connections ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range connections {
		f.gone[c] = true
	}
}

func (f *FakeAWS) isGone(connection string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gone[connection]
}

// Pushes returns the messages posted to a live connection that was not gone, in order.
func (f *FakeAWS) Pushes(connection string) []Call {
	var out []Call
	for _, c := range f.Calls("execute-api") {
		if c.Action == ActionPostToConnection && c.Connection == connection && !c.Gone && !c.Denied {
			out = append(out, c)
		}
	}
	return out
}

// iamAction is the IAM action that authorizes a call.
func iamAction(c Call) string {
	if c.Service == "execute-api" {
		return grants.ManageConnections
	}
	return c.Service + ":" + c.Action
}

// deny answers a call the function has no grant for, and reports whether it did.
func (f *FakeAWS) deny(w http.ResponseWriter, c Call) bool {
	action := iamAction(c)
	if f.function == "" || grants.Allowed(f.function, action) {
		return false
	}
	c.Denied = true
	f.record(c)
	msg := fmt.Sprintf("%s is not authorized to perform: %s", f.function, action)
	switch c.Service {
	case "scheduler":
		// A REST protocol: the error type travels in a header.
		writeRESTError(w, http.StatusForbidden, "AccessDeniedException", map[string]any{"Message": msg})
	case "execute-api":
		writeRESTError(w, http.StatusForbidden, "ForbiddenException", map[string]any{"message": msg})
	default:
		writeJSON(w, http.StatusBadRequest, map[string]any{"__type": "AccessDeniedException", "message": msg})
	}
	return true
}

// writeRESTError answers as an AWS REST JSON service does: the SDK reads the error type
// from the X-Amzn-ErrorType header and decodes it into its typed exception.
func writeRESTError(w http.ResponseWriter, status int, errorType string, body map[string]any) {
	w.Header().Set("X-Amzn-ErrorType", errorType)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// Calls returns the recorded requests of a service ("" for all).
func (f *FakeAWS) Calls(service string) []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if service == "" || c.Service == service {
			out = append(out, c)
		}
	}
	return out
}

func (f *FakeAWS) record(c Call) {
	if c.Function == "" {
		c.Function = f.function
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *FakeAWS) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	body := map[string]any{}
	_ = json.Unmarshal(raw, &body)
	target := r.Header.Get("X-Amz-Target")
	c := Call{Path: r.URL.Path, Body: body, Raw: raw}
	switch {
	case strings.HasPrefix(target, "TrentService."):
		c.Service, c.Action = "kms", strings.TrimPrefix(target, "TrentService.")
	case strings.HasPrefix(target, "AWSEvents."):
		c.Service, c.Action = "events", strings.TrimPrefix(target, "AWSEvents.")
	case strings.HasPrefix(r.URL.Path, "/schedules/"):
		c.Service = "scheduler"
		c.Action = map[string]string{http.MethodPost: "CreateSchedule", http.MethodPut: "UpdateSchedule", http.MethodDelete: "DeleteSchedule", http.MethodGet: "GetSchedule"}[r.Method]
	case kvsActions[r.URL.Path] != "" || r.URL.Path == kvsSignallingPath+"/v1/get-ice-server-config":
		c.Service, c.Action = "kinesisvideo", kvsActions[r.URL.Path]
		if c.Action == "" {
			c.Action = "GetIceServerConfig"
		}
		if !strings.Contains(r.Header.Get("Authorization"), "/kinesisvideo/aws4_request") {
			f.record(Call{Service: "unknown", Action: "unsigned " + r.URL.Path, Path: r.URL.Path, Raw: raw})
			writeRESTError(w, http.StatusForbidden, "AccessDeniedException", map[string]any{"Message": "not signed for kinesisvideo"})
			return
		}
	case strings.Contains(r.URL.Path, connectionsPath):
		c.Service = "execute-api"
		c.Action = map[string]string{http.MethodPost: ActionPostToConnection, http.MethodDelete: ActionDeleteConnection, http.MethodGet: ActionGetConnection}[r.Method]
		_, escaped, _ := strings.Cut(r.URL.EscapedPath(), connectionsPath)
		c.Connection, _ = url.PathUnescape(escaped)
		if c.Action == "" || c.Connection == "" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			// Like API Gateway: an unsigned request, or one to no connection, is not a
			// call of the management API.
			f.record(Call{Service: "unknown", Action: r.Method + " " + r.URL.Path, Path: r.URL.Path, Raw: raw})
			writeRESTError(w, http.StatusForbidden, "ForbiddenException", map[string]any{"message": "Missing Authentication Token"})
			return
		}
	default:
		f.record(Call{Service: "unknown", Action: r.Method + " " + target, Path: r.URL.Path, Body: body})
		writeJSON(w, http.StatusBadRequest, map[string]any{"__type": "UnknownOperationException", "message": "not played by the fake"})
		return
	}
	if f.deny(w, c) {
		return
	}
	if c.Service == "execute-api" {
		c.Gone = f.isGone(c.Connection)
	}
	f.record(c)
	switch c.Service {
	case "kms":
		f.kms(w, c.Action, body)
	case "events":
		entries, _ := body["Entries"].([]any)
		out := make([]map[string]string, len(entries))
		for i := range out {
			out[i] = map[string]string{"EventId": fmt.Sprintf("event-%d", i)}
		}
		writeJSON(w, http.StatusOK, map[string]any{"FailedEntryCount": 0, "Entries": out})
	case "scheduler":
		if r.Method == http.MethodDelete {
			writeJSON(w, http.StatusOK, map[string]any{})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ScheduleArn": "arn:aws:scheduler:eu-central-1:000000000000:schedule/" + strings.TrimPrefix(r.URL.Path, "/schedules/")})
	case "execute-api":
		f.connections(w, c)
	case "kinesisvideo":
		f.kvs(w, c)
	}
}

// The KVS control plane's REST JSON operations, by path, and where the fake says a
// channel's HTTPS signalling endpoint is (below its own URL).
var kvsActions = map[string]string{
	"/describeSignalingChannel":    "DescribeSignalingChannel",
	"/createSignalingChannel":      "CreateSignalingChannel",
	"/getSignalingChannelEndpoint": "GetSignalingChannelEndpoint",
}

const kvsSignallingPath = "/kvs-signalling"

// kvs plays the signalling channels as KVS does: unknown ones are ResourceNotFound, a new
// one is CREATING until described once, and a channel's endpoint hands out TURN servers
// for 5 minutes.
func (f *FakeAWS) kvs(w http.ResponseWriter, c Call) {
	name, _ := c.Body["ChannelName"].(string)
	arnOf := func(name string) string {
		return "arn:aws:kinesisvideo:eu-central-1:000000000000:channel/" + name + "/1700000000000"
	}
	switch c.Action {
	case "DescribeSignalingChannel":
		f.mu.Lock()
		status, ok := f.channels[name]
		if status == "CREATING" {
			f.channels[name] = "ACTIVE"
		}
		f.mu.Unlock()
		if !ok {
			writeRESTError(w, http.StatusNotFound, "ResourceNotFoundException", map[string]any{"Message": "The requested channel is not found or not active."})
			return
		}
		writeRESTJSON(w, map[string]any{"ChannelInfo": map[string]any{"ChannelARN": arnOf(name), "ChannelName": name, "ChannelStatus": status, "ChannelType": "SINGLE_MASTER"}})
	case "CreateSignalingChannel":
		f.mu.Lock()
		_, exists := f.channels[name]
		if !exists {
			f.channels[name] = "CREATING"
		}
		f.mu.Unlock()
		if exists {
			writeRESTError(w, http.StatusBadRequest, "ResourceInUseException", map[string]any{"Message": "The channel exists."})
			return
		}
		writeRESTJSON(w, map[string]any{"ChannelARN": arnOf(name)})
	case "GetSignalingChannelEndpoint":
		writeRESTJSON(w, map[string]any{"ResourceEndpointList": []map[string]any{
			{"Protocol": "WSS", "ResourceEndpoint": "wss://v-1a2b3c4d.kinesisvideo.eu-central-1.amazonaws.com"},
			{"Protocol": "HTTPS", "ResourceEndpoint": f.Server.URL + kvsSignallingPath},
		}})
	case "GetIceServerConfig":
		client, _ := c.Body["ClientId"].(string)
		writeRESTJSON(w, map[string]any{"IceServerList": []map[string]any{{
			"Uris": []string{
				"turn:35-158-51-20.t-4f692171.kinesisvideo.eu-central-1.amazonaws.com:443?transport=udp",
				"turns:35-158-51-20.t-4f692171.kinesisvideo.eu-central-1.amazonaws.com:443?transport=udp",
				"turns:35-158-51-20.t-4f692171.kinesisvideo.eu-central-1.amazonaws.com:443?transport=tcp",
			},
			"Username": fmt.Sprintf("%d:%s", time.Now().Add(5*time.Minute).Unix(), client),
			"Password": "fake-turn-credential-" + client,
			"Ttl":      300,
		}}})
	}
}

func writeRESTJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// connections plays @connections for a recorded call: 410 for a gone connection; a closed
// connection is gone from then on.
func (f *FakeAWS) connections(w http.ResponseWriter, c Call) {
	if c.Gone {
		writeRESTError(w, http.StatusGone, "GoneException", map[string]any{})
		return
	}
	switch c.Action {
	case ActionPostToConnection:
		w.WriteHeader(http.StatusOK)
	case ActionDeleteConnection:
		f.Gone(c.Connection)
		w.WriteHeader(http.StatusNoContent)
	case ActionGetConnection:
		now := time.Now().UTC().Format(time.RFC3339)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"connectedAt": now, "lastActiveAt": now,
			"identity": map[string]string{"sourceIp": "127.0.0.1", "userAgent": "lambdatest"}})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// kms plays GenerateDataKey, Decrypt and GenerateMac: data keys are sealed with the fake's
// master key under AES-GCM, with the encryption context as additional data, so a wrong
// context fails like it does in KMS.
func (f *FakeAWS) kms(w http.ResponseWriter, action string, body map[string]any) {
	ctx, _ := json.Marshal(body["EncryptionContext"])
	switch action {
	case "GenerateDataKey":
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		blob := f.seal(key, ctx)
		writeJSON(w, http.StatusOK, map[string]any{"KeyId": body["KeyId"], "Plaintext": key, "CiphertextBlob": blob})
	case "Decrypt":
		blob, _ := body["CiphertextBlob"].(string)
		key, err := f.open(blob, ctx)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"__type": "InvalidCiphertextException", "message": "cannot decrypt"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"KeyId": "fake", "Plaintext": key})
	case "GenerateMac":
		msg, _ := body["Message"].(string)
		m := hmac.New(sha256.New, f.mac)
		m.Write([]byte(msg))
		writeJSON(w, http.StatusOK, map[string]any{"KeyId": body["KeyId"], "Mac": m.Sum(nil), "MacAlgorithm": body["MacAlgorithm"]})
	default:
		writeJSON(w, http.StatusBadRequest, map[string]any{"__type": "UnsupportedOperationException", "message": action})
	}
}

func (f *FakeAWS) gcm() cipher.AEAD {
	b, _ := aes.NewCipher(f.master)
	g, _ := cipher.NewGCM(b)
	return g
}

func (f *FakeAWS) seal(plain, aad []byte) []byte {
	g := f.gcm()
	nonce := make([]byte, g.NonceSize())
	_, _ = rand.Read(nonce)
	return g.Seal(nonce, nonce, plain, aad)
}

// open takes the base64 text of a blob as JSON carries it.
func (f *FakeAWS) open(b64 string, aad []byte) ([]byte, error) {
	var blob []byte
	if err := json.Unmarshal([]byte(`"`+b64+`"`), &blob); err != nil {
		return nil, err
	}
	g := f.gcm()
	if len(blob) < g.NonceSize() {
		return nil, fmt.Errorf("short blob")
	}
	return g.Open(nil, blob[:g.NonceSize()], blob[g.NonceSize():], aad)
}
