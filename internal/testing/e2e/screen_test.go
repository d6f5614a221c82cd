package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/desktop"
	"github.com/adhoc-support/adhoc-support/agent/desktop/fakedesktop"
	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/remote/remotetest"
	"github.com/adhoc-support/adhoc-support/agent/screen"
	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// TestRemoteDisconnectByUser: the technician's console opens the screen, input and
// clipboard channels too, through the local gateway's live channel and the devstack's
// TURN server, to an app whose user's desktop (a fake one behind the real desktop.Host)
// shows the notice naming the technician. The user presses the notice's Disconnect: the
// remote connection ends, the helper with it, and the app's report lands in the audit as
// remote_ended with reason disconnected_by_user and all five channels.
func TestRemoteDisconnectByUser(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, a := activeSession(t, e, tech, "screen-user@example.org")
	d := fakedesktop.New(1280, 800)
	d.Paint(`\\.\DISPLAY1`, func(f *screen.Frame) { f.Fill(screen.Rect{X: 100, Y: 100, W: 300, H: 200}, 0, 128, 255) })
	launcher := fakedesktop.NewLauncher(d)
	host := desktop.NewHost(desktop.HostConfig{Launcher: launcher})
	t.Cleanup(host.Close)
	pc := newPCApp(t, e, a, a.live(), false, func(c *remote.Config) { c.Desktop = host })
	tab := &techConsole{t: t, ws: e.consoleLive(tech)}
	go tab.pump()
	e.waitLive(2)

	r := e.do(http.MethodPost, "/v1/sessions/"+id+"/remote", tech, nil)
	want(t, r, http.StatusCreated, "")
	remoteID := r.str("remoteId")
	var started struct {
		ICEServers []protocol.ICEServer `json:"iceServers"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &started); err != nil {
		t.Fatal(err)
	}
	rtc := remotetest.New(t, remotetest.Options{RemoteID: remoteID, ICEServers: started.ICEServers, RelayOnly: true, Desktop: true,
		Send: func(sig protocol.Signal) { tab.signal(id, remoteID, sig) }, AppLog: pc.appLog})
	tab.mu.Lock()
	tab.rtc = rtc
	tab.mu.Unlock()
	rtc.Offer()
	rtc.WaitOpen()

	waitFor(t, 10*time.Second, "the notice to show", func() bool { _, ok := d.Notice(); return ok })
	if n, _ := d.Notice(); !strings.HasSuffix(n.Text, " is connected") || n.Button != "Disconnect" {
		t.Errorf("notice %+v", n)
	}
	rtc.SendScreen(map[string]any{"type": "start", "display": 0, "quality": 70, "maxFps": 20})
	if f := rtc.WaitFrame(); !f.Full || f.Width != 1280 || f.Height != 800 {
		t.Errorf("first frame %+v", f)
	}

	if err := d.ClickDisconnect(); err != nil {
		t.Fatal(err)
	}
	var rep protocol.RemoteEndedRequest
	select {
	case rep = <-pc.reports:
	case <-time.After(10 * time.Second):
		t.Fatalf("no end report; app log:\n%s", pc.appLog())
	}
	if rep.RemoteID != remoteID || rep.Reason != protocol.RemoteDisconnectedByUser {
		t.Errorf("report %+v", rep)
	}
	if reason := rtc.ByeReason(10 * time.Second); reason != protocol.RemoteDisconnectedByUser {
		t.Errorf("the console's bye: %q", reason)
	}
	waitFor(t, 10*time.Second, "the helper to end", func() bool { return launcher.Running() == 0 })
	if _, ok := d.Notice(); ok {
		t.Error("the notice still shows")
	}

	audit := e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", tech, nil)
	want(t, audit, http.StatusOK, "")
	var trail struct {
		Entries []struct{ Action, Detail, Actor string }
	}
	_ = json.Unmarshal([]byte(audit.Raw), &trail)
	var ended []string
	for _, en := range trail.Entries {
		if en.Action == "remote_ended" {
			ended = append(ended, en.Actor+": "+en.Detail)
		}
	}
	if len(ended) != 1 || !strings.HasPrefix(ended[0], "app: remoteId="+remoteID+" ") ||
		!strings.Contains(ended[0], " reason=disconnected_by_user channels=terminal,files,screen,input,clipboard durationMs=") {
		t.Errorf("the audit's remote_ended entries: %q", ended)
	}
	if n := countEvents(e, id, events.RemoteAccessEnded); n != 1 {
		t.Errorf("%d RemoteAccessEnded events", n)
	}
}
