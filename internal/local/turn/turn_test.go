package turn_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pionturn "github.com/pion/turn/v5"

	"github.com/adhoc-support/adhoc-support/internal/local/turn"
	"github.com/adhoc-support/adhoc-support/internal/testing/netcheck"
)

// client allocates a relay on the server over UDP or TCP with the credentials.
func client(t *testing.T, s *turn.Server, transport string, c turn.Credentials) (*pionturn.Client, net.PacketConn, error) {
	t.Helper()
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	var conn net.PacketConn
	switch transport {
	case "udp":
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = pc
	case "tcp":
		tc, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn = pionturn.NewSTUNConn(tc)
	}
	cl, err := pionturn.NewClient(&pionturn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Conn: conn,
		Username: c.Username, Password: c.Password, Realm: turn.Realm, RTO: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(); _ = conn.Close() })
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := cl.Allocate()
	return cl, relay, err
}

// TestRelaysOverUDPAndTCP: fresh credentials allocate a relay over either transport, and a
// datagram relayed to a peer on loopback comes back through it.
func TestRelaysOverUDPAndTCP(t *testing.T) {
	s, err := turn.Start(turn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := peer.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = peer.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			c, err := s.Credentials("tech-1", 0)
			if err != nil {
				t.Fatal(err)
			}
			_, relay, err := client(t, s, transport, c)
			if err != nil {
				t.Fatalf("allocate: %v", err)
			}
			if ip := relay.LocalAddr().(*net.UDPAddr).IP; !ip.IsLoopback() {
				t.Fatalf("relayed address %v is not on loopback", relay.LocalAddr())
			}
			if _, err := relay.WriteTo([]byte("hi"), peer.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			_ = relay.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 1500)
			n, _, err := relay.ReadFrom(buf)
			if err != nil || string(buf[:n]) != "echo:hi" {
				t.Fatalf("relayed answer %q, %v", buf[:n], err)
			}
		})
	}
}

// TestCredentialsExpireAndAreSigned: expired credentials and credentials signed with
// another secret allocate nothing.
func TestCredentialsExpireAndAreSigned(t *testing.T) {
	s, err := turn.Start(turn.Options{Secret: "one secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := turn.Start(turn.Options{Secret: "another secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	expired, err := s.Credentials("tech-1", -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Credentials("tech-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]turn.Credentials{"expired": expired, "signed by another server": forged} {
		if _, _, err := client(t, s, "udp", c); err == nil {
			t.Errorf("%s credentials allocated a relay", name)
		}
	}
	servers, expires, err := s.ICEServers("tech-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 1 || len(servers[0].URLs) != 2 || !strings.HasSuffix(servers[0].URLs[1], "?transport=tcp") ||
		time.Until(expires) > turn.CredentialLifetime || time.Until(expires) < turn.CredentialLifetime-time.Minute {
		t.Fatalf("ICE servers %+v until %v", servers, expires)
	}
}

// TestLoopbackOnly: the TURN server answers a STUN binding request on loopback, over UDP and
// TCP, and nothing on the machine's network address: a relay reachable from the network
// would carry anyone's traffic with credentials leaked from a test.
func TestLoopbackOnly(t *testing.T) {
	ip := netcheck.ExternalIPv4(t)
	s, err := turn.Start(turn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	netcheck.AcceptsTCP(t, "the TURN server", s.Port)
	netcheck.RefusesTCP(t, "the TURN server", ip, s.Port)
	if err := bindingUDP(net.IPv4(127, 0, 0, 1), s.Port); err != nil {
		t.Fatalf("no STUN answer over UDP on loopback: %v", err)
	}
	if err := bindingUDP(ip, s.Port); err == nil {
		t.Errorf("the TURN server answers UDP on %s:%d, the machine's network address: it must listen on loopback only", ip, s.Port)
	}
}

// bindingUDP sends a STUN binding request to ip:port and waits a second for the answer.
func bindingUDP(ip net.IP, port int) error {
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		return err
	}
	defer conn.Close()
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	if _, err := conn.Write(req.Raw); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	res := &stun.Message{Raw: buf[:n]}
	if err := res.Decode(); err != nil {
		return err
	}
	if res.Type != stun.BindingSuccess {
		return &net.AddrError{Err: "answer " + res.Type.String(), Addr: conn.RemoteAddr().String()}
	}
	return nil
}

// echoPeer is a UDP peer on loopback that answers every datagram with "echo:" and it.
func echoPeer(t *testing.T) net.PacketConn {
	t.Helper()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := peer.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = peer.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	return peer
}

func roundTrip(t *testing.T, relay net.PacketConn, peer net.Addr, msg string) error {
	t.Helper()
	if _, err := relay.WriteTo([]byte(msg), peer); err != nil {
		return err
	}
	_ = relay.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	for {
		n, from, err := relay.ReadFrom(buf)
		if err != nil {
			return err
		}
		if from.String() == peer.String() {
			if got := string(buf[:n]); got != "echo:"+msg {
				t.Fatalf("relayed answer %q, want echo:%s", got, msg)
			}
			return nil
		}
	}
}

// TestServersCredentialsExpire: what the ICE servers port hands out (Servers) allocates a
// relay while it is valid and no longer once it has expired; an allocation made in time
// keeps relaying past the expiry (its CreatePermission with the old credentials to a new
// peer is accepted), so a remote connection does not drop after 5 minutes.
func TestServersCredentialsExpire(t *testing.T) {
	s, err := turn.Start(turn.Options{Lifetime: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, second := echoPeer(t), echoPeer(t)
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			servers, expires, err := s.Servers(context.Background(), "acme", "r-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(servers) != 1 || !strings.HasPrefix(servers[0].Username, strconv.FormatInt(expires.Unix(), 10)+":r-1") ||
				time.Until(expires) > 2*time.Second {
				t.Fatalf("servers %+v until %v", servers, expires)
			}
			c := turn.Credentials{Username: servers[0].Username, Password: servers[0].Credential}
			_, relay, err := client(t, s, transport, c)
			if err != nil {
				t.Fatalf("allocate with fresh credentials: %v", err)
			}
			if err := roundTrip(t, relay, first.LocalAddr(), "before"); err != nil {
				t.Fatalf("relay before the expiry: %v", err)
			}
			// The server compares whole seconds: wait until the expiry's second is over.
			time.Sleep(time.Until(time.Unix(expires.Unix()+1, 0).Add(50 * time.Millisecond)))
			if _, _, err := client(t, s, transport, c); err == nil {
				t.Error("expired credentials allocated a relay")
			}
			if err := roundTrip(t, relay, second.LocalAddr(), "after"); err != nil {
				t.Errorf("the allocation made in time stopped relaying to a new peer after the expiry: %v", err)
			}
		})
	}
}
