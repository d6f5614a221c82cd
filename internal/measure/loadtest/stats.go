package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Route names as the table shows them: method and path pattern, as API Gateway's routes.
const (
	routeDevAccount = "PUT /v1/dev/accounts/{account}"
	routeDevToken   = "POST /v1/dev/token"
	routeCreate     = "POST /v1/sessions"
	routeList       = "GET /v1/sessions"
	routeGet        = "GET /v1/sessions/{id}"
	routeCancel     = "DELETE /v1/sessions/{id}"
	routeComputers  = "GET /v1/computers"
	routeAccount    = "GET /v1/account"
	routeHello      = "POST /v1/agent/hello"
	routePair       = "POST /v1/agent/pair"
	routePoll       = "POST /v1/agent/poll"
	routeEnd        = "POST /v1/agent/end"
	routeRemoved    = "POST /v1/agent/removed"
	// routeMail is not a request: it is the time from the invitation's 201 until its link
	// can be read from the mail server, which is what the end user waits for.
	routeMail = "(mail) 201 until the link arrives"
)

// result is one answer, its decoded JSON and how long it took.
type result struct {
	route   string
	status  int
	body    map[string]any
	err     error
	latency time.Duration
}

func (r result) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (r result) num(key string) int {
	f, _ := r.body[key].(float64)
	return int(f)
}

// outcome is how the table and expect name an answer: "200", "409 no_free_slot".
func (r result) outcome() string {
	if r.err != nil {
		return "transport error"
	}
	if code := r.str("code"); r.status >= 300 && code != "" {
		return strconv.Itoa(r.status) + " " + code
	}
	return strconv.Itoa(r.status)
}

func (r result) String() string {
	if r.err != nil {
		return r.route + ": " + r.err.Error()
	}
	return r.route + ": " + r.outcome()
}

// do sends one request and records its latency. Requests are not cancelled at the run's
// deadline (only when ctx is), so a request in flight always completes.
func (d *driver) do(ctx context.Context, route, method, path, bearer string, body any) result {
	res := result{route: route}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			res.err = fmt.Errorf("encode body: %w", err)
			return res
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.cfg.BaseURL+path, rd)
	if err != nil {
		res.err = fmt.Errorf("request: %w", err)
		return res
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	began := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		res.err = err
		if ctx.Err() == nil {
			d.stats.fail(route, "transport error: "+shortError(err))
		}
		return res
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	res.latency = time.Since(began)
	res.status = resp.StatusCode
	if err != nil {
		res.err = fmt.Errorf("read answer: %w", err)
		d.stats.fail(route, "transport error: "+shortError(err))
		return res
	}
	if len(raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &res.body); err != nil {
			d.stats.fail(route, fmt.Sprintf("%d with a body that is not JSON", res.status))
		}
	}
	d.stats.observe(route, res.latency)
	return res
}

// shortError keeps the kind of a transport error and drops addresses and ports, so that
// equal failures are counted together.
func shortError(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "connection reset"):
		return "connection reset"
	case strings.Contains(err.Error(), "EOF"):
		return "connection closed"
	case strings.Contains(err.Error(), "Client.Timeout"):
		return "timeout"
	}
	return "other"
}

// expect tallies an answer. allowed lists the outcomes the protocol permits at this step
// ("201", "409 no_free_slot"); a permitted refusal is counted as such, anything else is
// an error. It reports whether the answer was permitted.
func (d *driver) expect(r result, allowed ...string) bool {
	if r.err != nil {
		return false // counted by do
	}
	o := r.outcome()
	if slices.Contains(allowed, o) {
		if r.status >= 300 {
			d.stats.refuse(r.route, o)
		}
		return true
	}
	d.stats.fail(r.route, o)
	return false
}

// stats collects latencies, refusals and errors of a run.
type stats struct {
	mu       sync.Mutex
	lat      map[string][]time.Duration
	errs     map[string]map[string]int
	refusals map[string]map[string]int
}

func newStats() *stats {
	return &stats{lat: map[string][]time.Duration{}, errs: map[string]map[string]int{}, refusals: map[string]map[string]int{}}
}

func (s *stats) observe(route string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat[route] = append(s.lat[route], d)
}

func (s *stats) fail(route, what string) { s.count(s.errs, route, what) }

func (s *stats) refuse(route, what string) { s.count(s.refusals, route, what) }

func (s *stats) count(m map[string]map[string]int, route, what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m[route] == nil {
		m[route] = map[string]int{}
	}
	m[route][what]++
}

func (s *stats) report() *Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := &Report{Errors: map[string]int{}, Refusals: map[string]int{}}
	routes := map[string]bool{}
	for r := range s.lat {
		routes[r] = true
	}
	for r, m := range s.errs {
		routes[r] = true
		for what, n := range m {
			rep.Errors[r+" → "+what] += n
		}
	}
	for r, m := range s.refusals {
		for what, n := range m {
			rep.Refusals[r+" → "+what] += n
		}
	}
	for r := range routes {
		lat := slices.Clone(s.lat[r])
		slices.Sort(lat)
		rs := RouteStats{Route: r, Count: len(lat)}
		if len(lat) > 0 {
			rs.P50, rs.P99, rs.Max = quantile(lat, 0.50), quantile(lat, 0.99), lat[len(lat)-1]
		}
		for _, n := range s.errs[r] {
			rs.Errors += n
		}
		for _, n := range s.refusals[r] {
			rs.Refusals += n
		}
		rep.Routes = append(rep.Routes, rs)
		if r != routeMail {
			rep.Requests += len(lat)
		}
	}
	slices.SortFunc(rep.Routes, func(a, b RouteStats) int { return strings.Compare(routeOrder(a.Route), routeOrder(b.Route)) })
	return rep
}

// quantile is the nearest-rank quantile of sorted samples.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// routeOrder lists the technician's routes, then the app's, then the rest.
func routeOrder(r string) string {
	order := []string{routeCreate, routeMail, routeGet, routeList, routeCancel, routeComputers, routeAccount,
		routeHello, routePair, routePoll, routeEnd, routeRemoved, routeDevToken, routeDevAccount}
	if i := slices.Index(order, r); i >= 0 {
		return fmt.Sprintf("%02d", i)
	}
	return "99" + r
}
