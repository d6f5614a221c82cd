// Package netcheck finds this machine's address on its network, for tests that prove a
// local service cannot be reached from there: the address of the interface the default
// route leaves through, which is what another machine on the network would connect to.
package netcheck

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// ExternalIPv4 returns the IPv4 address of the default route's interface. It skips the
// test, saying so, when the machine has none: then nothing outside can reach it anyway.
func ExternalIPv4(t testing.TB) net.IP {
	t.Helper()
	ip, err := externalIPv4()
	if err != nil {
		t.Skipf("no non-loopback IPv4 address to connect to (%v): this machine is reachable from loopback only, nothing to prove", err)
	}
	return ip
}

func externalIPv4() (net.IP, error) {
	iface, err := defaultRouteInterface()
	if err != nil {
		return nil, err
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", iface, err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", iface, err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.To4(), nil
		}
	}
	return nil, fmt.Errorf("interface %s has no IPv4 address", iface)
}

// defaultRouteInterface reads the kernel's IPv4 routing table for the route to 0.0.0.0/0.
func defaultRouteInterface() (string, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// Iface Destination Gateway Flags RefCnt Use Metric Mask …
		if len(fields) >= 8 && fields[1] == "00000000" && fields[7] == "00000000" && fields[0] != "lo" {
			return fields[0], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("no default route")
}

// RefusesTCP fails the test if a TCP connection to ip:port succeeds.
func RefusesTCP(t testing.TB, what string, ip net.IP, port int) {
	t.Helper()
	addr := net.JoinHostPort(ip.String(), fmt.Sprint(port))
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		_ = c.Close()
		t.Errorf("%s answers TCP on %s, the machine's network address: it must listen on loopback only", what, addr)
	}
}

// AcceptsTCP fails the test unless a TCP connection to 127.0.0.1:port succeeds: the
// control that the refusal above is about the address, not a service that is down.
func AcceptsTCP(t testing.TB, what string, port int) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Errorf("%s does not answer on %s: %v", what, addr, err)
		return
	}
	_ = c.Close()
}
