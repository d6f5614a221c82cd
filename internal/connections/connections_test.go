package connections

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
)

// recorder answers @connections calls and remembers their paths.
type recorder struct {
	mu    sync.Mutex
	paths []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	r.mu.Lock()
	r.paths = append(r.paths, req.URL.Path)
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.paths...)
}

func TestNewForEndpoint(t *testing.T) {
	cases := []struct {
		name         string
		override     bool // AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI set
		wantStage    []string
		wantOverride []string
	}{
		{name: "the stage endpoint", wantStage: []string{"/live/@connections/conn-1"}},
		{name: "the SDK's endpoint variable wins", override: true, wantOverride: []string{"/@connections/conn-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a stage endpoint and, maybe, the SDK's own endpoint variable WHEN a
			// message is pushed THEN it goes to the variable's endpoint if set, else to the
			// stage.
			stage, override := &recorder{}, &recorder{}
			stageSrv, overrideSrv := httptest.NewServer(stage), httptest.NewServer(override)
			defer stageSrv.Close()
			defer overrideSrv.Close()
			t.Setenv("AWS_REGION", "eu-central-1")
			t.Setenv("AWS_ACCESS_KEY_ID", "local")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
			// Nothing of this machine's own AWS configuration may take part.
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", "AWS_PROFILE"} {
				t.Setenv(k, "")
				_ = os.Unsetenv(k)
			}
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
			if c.override {
				t.Setenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", overrideSrv.URL)
			}
			cfg, err := config.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := NewForEndpoint(cfg, stageSrv.URL+"/live").Push(context.Background(), "conn-1", []byte(`{"type":"pong"}`)); err != nil {
				t.Fatal(err)
			}
			if got := stage.got(); !slices.Equal(got, c.wantStage) {
				t.Errorf("stage got %v, want %v", got, c.wantStage)
			}
			if got := override.got(); !slices.Equal(got, c.wantOverride) {
				t.Errorf("override got %v, want %v", got, c.wantOverride)
			}
		})
	}
}
