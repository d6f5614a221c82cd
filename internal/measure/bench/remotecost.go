package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/lambdatest"
)

// The cost of remote access: the calls a remote connection makes on the service, measured
// on the rig like every other call (RemoteCalls), and a model of one hour of it
// (RemoteHour) peer to peer and relayed by Kinesis Video Streams' managed TURN.

// iceCounter stands in for Kinesis Video Streams' managed TURN (internal/iceservers.KVS):
// servers as GetIceServerConfig hands them out, credentials valid 5 minutes. It counts the
// requests; in AWS each is one GetIceServerConfig call (the channel's ARN and endpoint are
// looked up once per function instance).
type iceCounter struct{ n *atomic.Int64 }

func (c iceCounter) Servers(_ context.Context, _, clientID string) ([]protocol.ICEServer, time.Time, error) {
	c.n.Add(1)
	host := "34-201-17-2.t-4f1b2c3d.kinesisvideo.us-east-1.amazonaws.com"
	return []protocol.ICEServer{{
		URLs:       []string{"turn:" + host + ":443?transport=udp", "turns:" + host + ":443?transport=udp", "turns:" + host + ":443?transport=tcp"},
		Username:   "1764794400:djE6YXJuOmF3czpraW5lc2lzdmlkZW86dXMtZWFzdC0xOjEyMzQ1Njc4OTAxMjpjaGFubmVsL2FkaG9jLXN1cHBvcnQtMGExYjJjM2Q0ZTVmLzE3NjQ3OTA4MDAwMDA=",
		Credential: "y7wDdQ2rQ8s0n9kVbq3H0m6TtZ1xw9b2K4uLcE5fJpA=",
	}}, time.Now().Add(5 * time.Minute), nil
}

var _ support.ICEServers = iceCounter{}

// Names of RemoteCalls' figures.
const (
	RemoteStart          = "remote: POST /v1/sessions/{id}/remote"
	RemoteOffer          = "remote: the console's offer, relayed"
	RemoteAnswer         = "remote: the app's answer, relayed"
	RemoteConsoleCand    = "remote: a console candidate, relayed"
	RemoteAppCand        = "remote: an app candidate, relayed"
	RemoteBye            = "remote: the console's bye, relayed"
	RemoteEndedReport    = "remote: POST /v1/agent/remote/ended"
	sampleCandidate      = "candidate:1467250027 1 udp 16777215 34.201.17.2 61003 typ relay raddr 0.0.0.0 rport 0 generation 0 ufrag Zq3v network-cost 999"
	sampleSDPLen         = 750 // a pion or Chromium offer with two data channels and no candidates
	sampleTechnicianName = "Tina Example"
)

// RemoteCalls walks one remote connection's calls on the service: the technician's start
// (the `remote` push to the app, the session's to the console), an offer, an answer, one
// candidate of each end, the console's bye and the app's end report. The rig needs
// RigOptions.Live and should be fresh.
func (r *Rig) RemoteCalls(ctx context.Context) ([]Figures, error) {
	tech := r.NewTechnician("remotecalls-" + r.run)
	_, res, err := r.Measure(ctx, TicketStep, r.TicketRequest(tech))
	if err != nil {
		return nil, err
	}
	ticket, err := ticketOf(res)
	if err != nil {
		return nil, err
	}
	console, _, err := r.Connect(ctx, support.PeerConsole, "", ticket)
	if err != nil {
		return nil, err
	}
	email := "user-" + tech.ID + "@example.org"
	_, res, err = r.Measure(ctx, "create", r.CreateRequest(tech, email))
	if err != nil {
		return nil, err
	}
	s, err := r.Created(tech, email, res)
	if err != nil {
		return nil, err
	}
	if err := r.measuredActivate(ctx, s); err != nil {
		return nil, err
	}
	app, _, err := r.Connect(ctx, support.PeerApp, s.Agent, "")
	if err != nil {
		return nil, err
	}
	var out []Figures
	f, res, err := r.Measure(ctx, RemoteStart, Request{deploy.Invitation,
		lambdatest.APIRequest(http.MethodPost, "/v1/sessions/"+s.ID+"/remote", "", s.Tech.claims(), nil), http.StatusCreated})
	if err != nil {
		return nil, err
	}
	out = append(out, f)
	var started struct {
		RemoteID string `json:"remoteId"`
	}
	if err := json.Unmarshal([]byte(res.Body), &started); err != nil || started.RemoteID == "" {
		return nil, fmt.Errorf("%s: no remoteId (%v)", RemoteStart, err)
	}
	sdp := "v=0\r\n" + strings.Repeat("a=x\r\n", (sampleSDPLen-5)/5)
	candidate := &protocol.ICECandidate{Candidate: sampleCandidate}
	for _, m := range []struct {
		name string
		from *LiveConn
		sig  protocol.Signal
	}{
		{RemoteOffer, console, protocol.Signal{Kind: protocol.SignalOffer, SDP: sdp}},
		{RemoteAnswer, app, protocol.Signal{Kind: protocol.SignalAnswer, SDP: sdp}},
		{RemoteConsoleCand, console, protocol.Signal{Kind: protocol.SignalCandidate, Candidate: candidate}},
		{RemoteAppCand, app, protocol.Signal{Kind: protocol.SignalCandidate, Candidate: candidate}},
		{RemoteBye, console, protocol.Signal{Kind: protocol.SignalBye, Reason: protocol.RemoteDisconnectedByTechnician}},
	} {
		a := protocol.SignalAction{Action: protocol.ActionSignal, RemoteID: started.RemoteID, Signal: m.sig}
		if m.from == console {
			a.SessionID = s.ID
		}
		body, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		f, err := r.Send(ctx, m.from, m.name, string(body))
		if err != nil {
			return nil, err
		}
		if f.Counts.Pushes < 1 {
			return nil, fmt.Errorf("%s: relayed to no one", m.name)
		}
		out = append(out, f)
	}
	report, err := json.Marshal(protocol.RemoteEndedRequest{RemoteID: started.RemoteID, Reason: protocol.RemoteDisconnectedByTechnician,
		Channels: []string{protocol.ChannelTerminal, protocol.ChannelFiles}, DurationMs: 3_600_000, BytesToPC: 50 << 20, BytesFromPC: 50 << 20})
	if err != nil {
		return nil, err
	}
	f, _, err = r.Measure(ctx, RemoteEndedReport, Request{deploy.Pairing,
		lambdatest.APIRequest(http.MethodPost, protocol.PathRemoteEnded, string(report), nil, map[string]string{"authorization": "Bearer " + s.Agent}), http.StatusNoContent})
	if err != nil {
		return nil, err
	}
	return append(out, f), nil
}

// RemoteHourInput is one hour of remote access.
type RemoteHourInput struct {
	Calls    []Figures      // RemoteCalls
	MemoryMB map[string]int // the functions' memory
	// Candidates each end sends in one connection's set-up (RemoteAccess counts them).
	ConsoleCandidates, AppCandidates int
	// Relayed: both ends relay through Kinesis Video Streams' TURN for the whole hour
	// (each holds an allocation; a console and a PC both behind symmetric NATs or
	// UDP-blocking proxies). Peer to peer: each end's allocation made while gathering
	// lives until the unused relay is dropped, TURNIdleMinutes.
	Relayed bool
	// Bytes is what crosses the connection in the hour, both ways (relayed: through
	// TURN; counted as data transfer out, see RemoteHour).
	Bytes float64
}

// TURNIdleMinutes is how long, as the model has it, an end keeps the relay allocation it
// made while gathering candidates once a direct pair carries the connection: Chromium
// drops an unused TURN port after about 30 s, pion keeps it until the connection closes;
// the model takes one started minute per end, so pion's side is underestimated for long
// peer-to-peer hours (still a fraction of a cent).
const TURNIdleMinutes = 1

// RemoteHourBytes is the model hour's traffic: a terminal in use and 100 MiB of files.
const RemoteHourBytes = 100 << 20

// RemoteHour is what an hour of remote access costs the service, besides the session's
// own day and the technician's page: the calls of one connection, its candidates, and
// Kinesis Video Streams' TURN minutes. Relayed bytes are priced as data transfer out to
// the internet: the KVS pricing page names no transfer line for TURN, so this is the upper
// bound the model keeps until a bill shows otherwise.
func RemoteHour(in RemoteHourInput) Usage {
	var u Usage
	for _, f := range in.Calls {
		n := 1.0
		switch f.Name {
		case RemoteConsoleCand:
			n = float64(in.ConsoleCandidates)
		case RemoteAppCand:
			n = float64(in.AppCandidates)
		}
		u = u.Add(f.Usage(in.MemoryMB).Times(n))
	}
	if in.Relayed {
		u.TURNMinutes += 2 * 60
		u.TransferBytes += in.Bytes
	} else {
		u.TURNMinutes += 2 * TURNIdleMinutes
	}
	return u
}
