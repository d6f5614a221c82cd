package iceservers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/adhoc-support/adhoc-support/internal/iceservers"
)

// fakeKVS plays the KVS control plane and a channel's HTTPS signalling endpoint, records
// every request and answers as KVS does. A channel is CREATING on its first describe after
// creation, then ACTIVE.
type fakeKVS struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	calls    []string
	channels map[string]string // name → status
}

func newFakeKVS(t *testing.T) *fakeKVS {
	f := &fakeKVS{t: t, channels: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKVS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/eu-central-1/kinesisvideo/aws4_request") {
		f.t.Errorf("%s is not signed for kinesisvideo in eu-central-1: %q", r.URL.Path, auth)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.URL.Path)
	name, _ := in["ChannelName"].(string)
	arn := "arn:aws:kinesisvideo:eu-central-1:000000000000:channel/" + name + "/1"
	switch r.URL.Path {
	case "/describeSignalingChannel":
		st, ok := f.channels[name]
		if !ok {
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"Message":"no such channel"}`)
			return
		}
		if st == "CREATING" {
			f.channels[name] = "ACTIVE"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ChannelInfo": map[string]any{"ChannelARN": arn, "ChannelName": name, "ChannelStatus": st}})
	case "/createSignalingChannel":
		if in["ChannelType"] != "SINGLE_MASTER" {
			f.t.Errorf("create channel %v, want SINGLE_MASTER", in)
		}
		f.channels[name] = "CREATING"
		_ = json.NewEncoder(w).Encode(map[string]any{"ChannelARN": arn})
	case "/getSignalingChannelEndpoint":
		cfg, _ := in["SingleMasterChannelEndpointConfiguration"].(map[string]any)
		if in["ChannelARN"] == nil || cfg["Role"] != "MASTER" || !strings.Contains(string(body), `"HTTPS"`) {
			f.t.Errorf("endpoint request %s", body)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ResourceEndpointList": []map[string]any{
			{"Protocol": "WSS", "ResourceEndpoint": "wss://wrong.example"},
			{"Protocol": "HTTPS", "ResourceEndpoint": f.srv.URL + "/signalling"}}})
	case "/signalling/v1/get-ice-server-config":
		if in["Service"] != "TURN" || in["ClientId"] != "r-1" || !strings.HasPrefix(in["ChannelARN"].(string), "arn:aws:kinesisvideo:") {
			f.t.Errorf("GetIceServerConfig %s", body)
		}
		_, _ = io.WriteString(w, `{"IceServerList":[{"Password":"p1","Ttl":300,"Uris":["turn:1-2-3-4.t-1.kinesisvideo.eu-central-1.amazonaws.com:443?transport=udp","turns:1-2-3-4.t-1.kinesisvideo.eu-central-1.amazonaws.com:443?transport=tcp"],"Username":"u1"},{"Password":"p2","Ttl":240,"Uris":["turns:5-6-7-8.t-1.kinesisvideo.eu-central-1.amazonaws.com:443?transport=udp"],"Username":"u2"}]}`)
	default:
		f.t.Errorf("unexpected call %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	}
}

func (f *fakeKVS) took() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// TestKVSServers: the first request of an account makes its channel, waits for it to be
// active, finds its HTTPS endpoint and asks it, signed, for TURN servers; the next one asks
// the endpoint only. The credentials expire with the shortest TTL.
func TestKVSServers(t *testing.T) {
	f := newFakeKVS(t)
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")
	api := kinesisvideo.New(kinesisvideo.Options{Region: "eu-central-1", Credentials: creds, BaseEndpoint: aws.String(f.srv.URL)})
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	k := &iceservers.KVS{API: api, Credentials: creds, Region: "eu-central-1", ChannelPrefix: "adhoc-support", Now: func() time.Time { return now }}
	servers, expires, err := k.Servers(context.Background(), "acme", "r-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.took(), " "); got != "/describeSignalingChannel /createSignalingChannel /describeSignalingChannel /describeSignalingChannel /getSignalingChannelEndpoint /signalling/v1/get-ice-server-config" {
		t.Errorf("calls: %s", got)
	}
	if len(servers) != 2 || servers[0].Username != "u1" || servers[0].Credential != "p1" || len(servers[0].URLs) != 2 ||
		!strings.HasPrefix(servers[1].URLs[0], "turns:") {
		t.Errorf("servers %+v", servers)
	}
	if want := now.Add(240 * time.Second); !expires.Equal(want) {
		t.Errorf("expires %v, want %v (the shortest TTL)", expires, want)
	}
	if _, _, err := k.Servers(context.Background(), "acme", "r-1"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.took(), " "); got != "/signalling/v1/get-ice-server-config" {
		t.Errorf("second request's calls: %s, want only GetIceServerConfig", got)
	}
	if a, b := k.ChannelName("acme"), k.ChannelName("other"); a == b || !strings.HasPrefix(a, "adhoc-support-") || len(a) > 256 {
		t.Errorf("channel names %q, %q", a, b)
	}
}
