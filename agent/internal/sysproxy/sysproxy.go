// Package sysproxy decides which proxy a request to the server takes under Windows' proxy
// settings: the account's Internet Options (a static proxy list with its bypass list, a PAC
// file, WPAD auto-detection), the machine's WinHTTP proxy (netsh winhttp) and, when those
// calls answer nothing, the Internet Settings in the registry. It holds the decisions only,
// so that they are tested on any system; agent/winos reads the settings and asks WinHTTP
// for a PAC file's answer.
//
// The decisions are those of github.com/mattn/go-ieproxy, which the app used before (it
// linked a second copy of golang.org/x/net/idna and the x/text tables the standard library
// already holds), and its bypass list also understands the Windows forms go-ieproxy passed
// over: "<local>", wildcards inside an entry ("10.*", "*.corp.example") and a scheme
// ("https://host").
package sysproxy

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Settings are one source's proxy settings as Windows hands them out.
type Settings struct {
	// Proxy is the static proxy list: "host:port" for every scheme or entries like
	// "http=host:port;https=host:port", separated by ';' or white space. Empty: none.
	Proxy string
	// Bypass lists the hosts that go direct, separated by ';', ',' or white space.
	Bypass string
	// PACURL is the proxy auto-config script's URL, "" for none.
	PACURL string
	// AutoDetect asks for WPAD: WinHTTP finds the PAC file through DHCP and DNS.
	AutoDetect bool
}

// A Source reads one place Windows keeps proxy settings; an error counts as no settings.
type Source func() (Settings, error)

// Config is the proxy configuration in effect.
type Config struct {
	// static maps a scheme ("http", "https"; "" for any) to its proxy.
	static map[string]string
	bypass []bypassRule
	// automatic: ask WinHTTP with pacURL, or by WPAD when pacURL is "".
	automatic bool
	pacURL    string
}

// Resolve reads the sources in go-ieproxy's order: the account's Internet Options
// (WinHttpGetIEProxyConfigForCurrentUser); when they name neither a proxy nor
// auto-detection, the machine's WinHTTP proxy; when that names none either, and the
// account names no PAC file, the Internet Settings registry values. A later source is read
// only when needed. (go-ieproxy went to the registry past the account's PAC file, which
// lost it where only the connection settings name it, as under Wine.)
func Resolve(user, machine, registry Source) Config {
	s, err := user()
	if err != nil {
		s = Settings{}
	}
	if s.Proxy == "" && !s.AutoDetect {
		if m, err := machine(); err == nil {
			// The machine's proxy and its bypass list are a pair; the PAC URL stays.
			s.Proxy, s.Bypass = m.Proxy, m.Bypass
		}
	}
	if s.Proxy == "" && !s.AutoDetect && s.PACURL == "" {
		if s, err = registry(); err != nil {
			s = Settings{}
		}
	}
	return newConfig(s)
}

func newConfig(s Settings) Config {
	c := Config{automatic: s.PACURL != "" || s.AutoDetect, pacURL: s.PACURL}
	for _, entry := range splitList(s.Proxy) {
		if c.static == nil {
			c.static = map[string]string{}
		}
		if scheme, proxy, ok := strings.Cut(entry, "="); ok {
			c.static[strings.ToLower(scheme)] = proxy
		} else {
			c.static[""] = entry
		}
	}
	for _, entry := range splitList(s.Bypass) {
		if r, ok := parseBypass(entry); ok {
			c.bypass = append(c.bypass, r)
		}
	}
	return c
}

// splitList splits a Windows list: entries are separated by ';', ',' or white space.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ';' || r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	})
}

// PACLookup asks WinHTTP what a PAC file (pacURL; "" for WPAD) says for target, a URL; it
// returns WinHTTP's proxy list, "" for a direct connection or a failed lookup.
type PACLookup func(pacURL, target string) string

// ProxyFor returns the proxy for u, nil for a direct connection: a PAC file's first proxy
// when auto-configuration is on and it names one, else the static proxy for u's scheme
// unless the bypass list or a loopback host sends u direct.
func (c Config) ProxyFor(u *url.URL, pac PACLookup) (*url.URL, error) {
	if c.automatic {
		if first := firstEntry(pac(c.pacURL, u.String())); first != "" {
			return parseProxy(first)
		}
	}
	var proxy string
	switch u.Scheme {
	case "http", "https":
		var ok bool
		if proxy, ok = c.static[u.Scheme]; !ok {
			proxy = c.static[""]
		}
	}
	if proxy == "" || c.bypassed(u) {
		return nil, nil
	}
	return parseProxy(proxy)
}

// firstEntry is the first entry of WinHTTP's proxy list ("a:80;b:80").
func firstEntry(list string) string {
	if entries := splitList(list); len(entries) > 0 {
		return entries[0]
	}
	return ""
}

// parseProxy reads "host:port" as an HTTP proxy, a URL as it is.
func parseProxy(proxy string) (*url.URL, error) {
	u, err := url.Parse(proxy)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if u, err := url.Parse("http://" + proxy); err == nil {
			return u, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("invalid proxy address %q: %w", proxy, err)
	}
	return u, nil
}

func (c Config) bypassed(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return true
	}
	for _, r := range c.bypass {
		if r.match(u.Scheme, host, port, ip) {
			return true
		}
	}
	return false
}

// bypassRule is one entry of the bypass list.
type bypassRule struct {
	scheme string // "" for any
	port   string // "" for any
	all    bool   // "*"
	local  bool   // "<local>": a name without a dot
	cidr   *net.IPNet
	ip     net.IP
	// glob is a pattern with '*' wildcards matched against the whole host.
	glob string
	// domain matches the name and, unless it began with a dot, the name itself:
	// "example.com" bypasses example.com and www.example.com.
	domain    string
	matchSelf bool
}

func parseBypass(entry string) (bypassRule, bool) {
	var r bypassRule
	p := strings.ToLower(strings.TrimSpace(entry))
	if scheme, rest, ok := strings.Cut(p, "://"); ok {
		r.scheme, p = scheme, rest
	}
	switch p {
	case "":
		return r, false
	case "*":
		r.all = true
		return r, true
	case "<local>":
		r.local = true
		return r, true
	}
	if _, n, err := net.ParseCIDR(p); err == nil {
		r.cidr = n
		return r, true
	}
	host := p
	if h, port, err := net.SplitHostPort(p); err == nil && !strings.Contains(port, "*") {
		host, r.port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), port
	}
	if host == "" {
		return r, false
	}
	if ip := net.ParseIP(host); ip != nil {
		r.ip = ip
		return r, true
	}
	if strings.Contains(host, "*") {
		r.glob = host
		return r, true
	}
	r.matchSelf = !strings.HasPrefix(host, ".")
	r.domain = "." + strings.TrimPrefix(host, ".")
	return r, true
}

func (r bypassRule) match(scheme, host, port string, ip net.IP) bool {
	if (r.scheme != "" && r.scheme != scheme) || (r.port != "" && r.port != port) {
		return false
	}
	switch {
	case r.all:
		return true
	case r.local:
		return ip == nil && !strings.Contains(host, ".")
	case r.cidr != nil:
		return ip != nil && r.cidr.Contains(ip)
	case r.ip != nil:
		return ip != nil && r.ip.Equal(ip)
	case r.glob != "":
		return globMatch(r.glob, host)
	default:
		return ip == nil && (strings.HasSuffix(host, r.domain) || (r.matchSelf && host == r.domain[1:]))
	}
}

// globMatch reports whether s matches pattern, in which '*' stands for any run of
// characters (none included) and every other character for itself.
func globMatch(pattern, s string) bool {
	// The classic greedy match with one backtracking point: the last '*' seen.
	p, i := 0, 0
	star, resume := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, resume = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			resume++
			i = resume
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
