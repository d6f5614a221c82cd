package bench

import (
	"context"
	"net/http"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// StackClient calls the local stack (internal/local/devstack) over HTTP as the console
// and the app do; the benchmarks outside this package (internal/measure/remotebench) set
// their sessions up with it.
type StackClient struct{ c *pushClient }

// NewStackClient is a client of st.
func NewStackClient(st *devstack.Stack) *StackClient {
	return &StackClient{c: &pushClient{st: st, http: &http.Client{Timeout: 30 * time.Second}}}
}

// SessionPassword is the password of the sessions the benchmarks create: the hidden
// account's, which a remote terminal asks for.
const SessionPassword = benchPassword

// Call sends a request and decodes the answer into out; an error names the status and
// the problem code, never the body.
func (s *StackClient) Call(ctx context.Context, method, path, bearer string, body any, want int, out any) error {
	return s.c.call(ctx, method, path, bearer, body, want, out)
}

// ActiveSession creates a session as the technician, pairs an app with it through the
// invitation mail's link and polls once, as the app does; it returns the session's id and
// the app's token.
func (s *StackClient) ActiveSession(ctx context.Context, tech, prefix string) (id, agentToken string, err error) {
	created, paired, err := s.c.pair(ctx, 0, tech, prefix)
	if err != nil {
		return "", "", err
	}
	if err := s.c.call(ctx, http.MethodPost, protocol.PathPoll, paired.AgentToken, nil, http.StatusOK, nil); err != nil {
		return "", "", err
	}
	return created.ID, paired.AgentToken, nil
}

// MessageUnits is how many WebSocket messages API Gateway bills for one of n bytes.
func MessageUnits(n int) int64 { return messageUnits(n) }
