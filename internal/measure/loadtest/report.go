package loadtest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run measured.
type Report struct {
	Config       Config // as run (without the DynamoDB client)
	Elapsed      time.Duration
	AppsStarted  int
	AppsFinished int            // apps that reached their planned end before the run ended
	PeakApps     int            // apps alive at the same time, at most
	Endings      map[string]int // finished apps by how their session ended
	Requests     int
	Routes       []RouteStats
	// Refusals are answers the protocol allows at that step ("409 no_free_slot" while the
	// account is full); Errors are all others, and transport failures. Both by
	// "route → outcome".
	Refusals   map[string]int
	Errors     map[string]int
	Invariants *Invariants // nil when the table was not checked
}

// RouteStats is the latency of one route over the run.
type RouteStats struct {
	Route         string
	Count         int
	P50, P99, Max time.Duration
	Refusals      int
	Errors        int
}

// ErrorCount is the number of answers the protocol does not allow, transport failures
// included.
func (r *Report) ErrorCount() int {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Failed reports whether the run saw an error or the table breaks an invariant.
func (r *Report) Failed() bool {
	return r.ErrorCount() > 0 || r.Invariants != nil && len(r.Invariants.Violations) > 0
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	c := r.Config
	var b strings.Builder
	fmt.Fprintf(&b, "load: %d technicians (%d per account), %d apps planned, %s, poll interval %s, session TTL %s\n",
		c.Technicians, c.TechniciansPerAccount, c.Apps, c.Duration, c.PollInterval, c.SessionTTL)
	fmt.Fprintf(&b, "ran %s: %d requests (%.0f/s), %d apps started, %d finished, at most %d at once\n\n",
		r.Elapsed.Round(time.Millisecond), r.Requests, float64(r.Requests)/max(r.Elapsed.Seconds(), 0.001),
		r.AppsStarted, r.AppsFinished, r.PeakApps)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route\tcount\tp50\tp99\tmax\trefused\terrors\t")
	for _, rs := range r.Routes {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%d\t\n", rs.Route, rs.Count, ms(rs.P50), ms(rs.P99), ms(rs.Max), rs.Refusals, rs.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	section := func(title string, m map[string]int) {
		fmt.Fprintf(&b, "\n%s:", title)
		if len(m) == 0 {
			b.WriteString(" none\n")
			return
		}
		b.WriteString("\n")
		for _, k := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(&b, "  %6d  %s\n", m[k], k)
		}
	}
	section("apps finished, by how the session ended", r.Endings)
	section("refusals the protocol allows", r.Refusals)
	section("errors", r.Errors)
	if inv := r.Invariants; inv != nil {
		settled := "settled after"
		if !inv.Settled {
			settled = "NOT SETTLED after"
		}
		fmt.Fprintf(&b, "\ninvariants (table %s %d scans): %d accounts, %d technician locks, %d machine locks, sessions %v\n",
			settled, inv.Scans, inv.Accounts, inv.TechLocks, inv.MachineLocks, inv.Sessions)
		if len(inv.Violations) == 0 {
			b.WriteString("  all hold: no slot oversold or leaked; one open session per technician; every activated session ends at activation + TTL, none expired early or ended after its end; no terminal session holds a lock or sits in the due index\n")
		}
		for _, v := range inv.Violations {
			fmt.Fprintf(&b, "  VIOLATION: %s\n", v)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
