package remote

import (
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// transport is what ICE may use on this PC.
type transport struct {
	servers []webrtc.ICEServer
	// relayOnly: no UDP sockets, so nothing but TURN over TCP (Wine).
	relayOnly bool
	// loopback: a TURN server on this machine (the local stack) relays on loopback, so
	// loopback candidates must not be dropped.
	loopback bool
}

// errNoTCPRelay is a PC without UDP offered no TURN server it can reach over TCP.
var errNoTCPRelay = errors.New("no UDP on this PC, and no TURN server over TCP or TLS offered")

// planTransport picks the ICE servers and candidates. With UDP, everything: host
// candidates (peer to peer where the networks allow), server reflexive and relayed ones,
// TURN over UDP and TCP. Without UDP (Wine: Go's UDP sockets fail there), only TURN over
// TCP or TLS, relay only: STUN and TURN over UDP could never answer.
func planTransport(servers []protocol.ICEServer, udp bool) (transport, error) {
	t := transport{relayOnly: !udp}
	for _, s := range servers {
		var urls []string
		for _, u := range s.URLs {
			if !udp && !overTCP(u) {
				continue
			}
			urls = append(urls, u)
			if loopbackHost(u) {
				t.loopback = true
			}
		}
		if len(urls) > 0 {
			t.servers = append(t.servers, webrtc.ICEServer{URLs: urls, Username: s.Username, Credential: s.Credential})
		}
	}
	if t.relayOnly && len(t.servers) == 0 {
		return t, errNoTCPRelay
	}
	return t, nil
}

// overTCP reports whether an ICE server URL is reached over TCP: turns: (TLS) or
// turn:…?transport=tcp.
func overTCP(raw string) bool {
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "turns":
		return true
	case "turn":
		_, query, _ := strings.Cut(rest, "?")
		q, err := url.ParseQuery(query)
		return err == nil && strings.EqualFold(q.Get("transport"), "tcp")
	}
	return false
}

// loopbackHost reports whether an ICE server URL names this machine.
func loopbackHost(raw string) bool {
	_, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return false
	}
	hostport, _, _ := strings.Cut(rest, "?")
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// api builds the pion API and configuration for the plan; TURN over TCP and TLS goes
// through proxy when it names one. The API has no media engine and no interceptors:
// remote access is data channels only.
func (t transport) api(proxy func(addr string) (*url.URL, error)) (*webrtc.API, webrtc.Configuration) {
	var se webrtc.SettingEngine
	if proxy != nil {
		var urls []string
		for _, s := range t.servers {
			urls = append(urls, s.URLs...)
		}
		se.SetICEProxyDialer(newProxyDialer(proxy, urls))
	}
	cfg := webrtc.Configuration{ICEServers: t.servers}
	if t.relayOnly {
		// The relayed candidates are UDP-typed although the client reaches the TURN server
		// over TCP: with TCP4 alone no candidate pair forms.
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	se.SetIncludeLoopbackCandidate(t.loopback)
	return webrtc.NewAPI(webrtc.WithSettingEngine(se)), cfg
}

// udpWorks reports whether this process can open a UDP socket. Under Wine it cannot: Go
// sets SIO_UDP_NETRESET on every UDP socket, which Wine lacks.
func udpWorks() bool {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
