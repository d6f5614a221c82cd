package stack

import (
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	"github.com/adhoc-support/adhoc-support/internal/session"
)

// Context keys: the deployment's parameters, set in cdk.json's "context" or with
// `cdk deploy -c key=value`.
const (
	CtxMailFrom            = "mailFrom"            // sender address of the invitation mail
	CtxCreateMailIdentity  = "createMailIdentity"  // false when the address or its domain is already an SES identity
	CtxSessionHours        = "sessionHours"        // session lifetime from activation
	CtxInviteHours         = "inviteHours"         // invitation lifetime if never activated
	CtxDefaultSlots        = "defaultSlots"        // licensed slots of an account never configured
	CtxAdhocCap            = "adhocCap"            // concurrent ad-hoc sessions of such an account
	CtxEventBusName        = "eventBusName"        // the custom EventBridge bus
	CtxConsoleCallbackURLs = "consoleCallbackUrls" // comma-separated; default: the API's own URL
	CtxConsoleOrigin       = "consoleOrigin"       // CORS origin when the console is served elsewhere
	CtxAuthDomainPrefix    = "authDomainPrefix"    // Cognito hosted sign-in domain prefix
	CtxAlarmEmail          = "alarmEmail"          // subscribed to the alarm topic when set
	CtxAPIRateLimit        = "apiRateLimit"        // the HTTP API stage's steady requests per second
	CtxAPIBurstLimit       = "apiBurstLimit"       // and its burst
	CtxLiveRateLimit       = "liveRateLimit"       // the live channel's stage: steady messages and handshakes per second
	CtxLiveBurstLimit      = "liveBurstLimit"      // and its burst
	CtxPublicRateLimit     = "publicRateLimit"     // each route without a token (hello, pair, join): steady requests per second
	CtxPublicBurstLimit    = "publicBurstLimit"    // and its burst
	CtxEdgeRateLimit       = "edgeRateLimit"       // per client IP per 5 minutes on those routes, at CloudFront + AWS WAF; 0 = no edge
	CtxPollSeconds         = "pollIntervalSeconds" // how often an active session's app polls
	CtxHiddenUsername      = "hiddenUsername"      // the hidden administrator account's name on the PC
)

// Config holds the deployment's parameters. Zero values are not meaningful: start from
// DefaultConfig or ConfigFrom.
type Config struct {
	MailFrom string
	// CreateMailIdentity makes the stack create an SES e-mail identity for MailFrom (SES
	// then mails a verification link to that address). Switch it off when the address or
	// its domain is already verified in SES: creating a second identity for it fails.
	CreateMailIdentity bool

	SessionHours int
	InviteHours  int
	DefaultSlots int
	AdhocCap     int

	EventBusName string

	// ConsoleCallbackURLs are the OAuth redirect targets of the console's Cognito
	// client. Empty means the API's own URL (the console is served by the API).
	ConsoleCallbackURLs []string
	// ConsoleOrigin is the only origin CORS admits. Empty means no CORS at all: the
	// console is same-origin with the API.
	ConsoleOrigin string
	// AuthDomainPrefix is the Cognito hosted sign-in domain prefix, unique per region.
	// Empty means "<stack name>-<account id>".
	AuthDomainPrefix string
	// AlarmEmail, when set, is subscribed to the alarm topic.
	AlarmEmail string

	// APIRateLimit and APIBurstLimit throttle the HTTP API's stage. An active session's
	// app polls every 30 s, so 100 requests per second carry about 2,900 sessions; raise
	// them with the account's API Gateway quota for more (docs/cost.md, scale model).
	APIRateLimit  int
	APIBurstLimit int

	// LiveRateLimit and LiveBurstLimit throttle the live channel's WebSocket stage (its
	// default route settings: handshakes and messages). A connection sends a ping at most
	// every few minutes to stay inside the 10-minute idle timeout and reconnects every 2
	// hours, so 100 per second carry tens of thousands of open connections; like the HTTP
	// API's, the throttle bounds the bill under a flood, not normal use.
	LiveRateLimit  int
	LiveBurstLimit int

	// PublicRateLimit and PublicBurstLimit throttle each route anyone may call without a
	// token (PublicRoutes: hello, pair, the join page, the app download) on its own, below
	// the stage's: a flood of them uses up their own allowance, not the one the
	// technicians' and the apps' routes share. One pairing takes one hello, one pair, a
	// page and a download: 10 per second is 36,000 pairings an hour.
	PublicRateLimit  int
	PublicBurstLimit int

	// EdgeRateLimit, when not 0, puts CloudFront with an AWS WAF web ACL in front of the
	// whole API: a rate-based rule blocks (429) a client IP that sends more than this many
	// requests to the public routes in 5 minutes; every route keeps working through it.
	// The web ACL lives in us-east-1 (CloudFront's WAF scope), in its own stack
	// (EdgeStackName). Fixed cost in docs/cost.md.
	EdgeRateLimit int

	// PollSeconds is how often the app of an active session polls (DESIGN.md: 30 s). It
	// sets how soon an ended session is cleaned up and, with the sessions, the request rate.
	PollSeconds int
	// HiddenUsername is the name of the hidden administrator account the app creates.
	HiddenUsername string
}

// DefaultMailFrom is a placeholder: mail from it cannot be delivered, and the app warns
// at synth time until the deployment sets its own address.
const DefaultMailFrom = "support@example.com"

// DefaultConfig is the product's defaults (DESIGN.md): 24 h sessions and invitations, 5
// slots, a cap of 5.
func DefaultConfig() Config {
	return Config{
		MailFrom:           DefaultMailFrom,
		CreateMailIdentity: true,
		SessionHours:       24,
		InviteHours:        24,
		DefaultSlots:       5,
		AdhocCap:           5,
		EventBusName:       "adhoc-support",
		APIRateLimit:       100,
		APIBurstLimit:      200,
		LiveRateLimit:      100,
		LiveBurstLimit:     200,
		PublicRateLimit:    10,
		PublicBurstLimit:   20,
		PollSeconds:        30,
		HiddenUsername:     session.DefaultUsername,
	}
}

// ConfigFrom reads the parameters through lookup (a CDK node's TryGetContext) on top of
// the defaults. cdk.json gives JSON numbers and booleans, `-c key=value` gives strings;
// both are accepted. A value that is present but malformed is an error, so a typo never
// silently becomes a default.
func ConfigFrom(lookup func(key string) any) (Config, error) {
	c := DefaultConfig()
	var err error
	str := func(key string, into *string) {
		if err != nil {
			return
		}
		switch v := lookup(key).(type) {
		case nil:
		case string:
			*into = strings.TrimSpace(v)
		default:
			err = fmt.Errorf("context %s=%v: want a string", key, v)
		}
	}
	num := func(key string, into *int, lo, hi int) {
		if err != nil {
			return
		}
		var n int
		switch v := lookup(key).(type) {
		case nil:
			return
		case float64:
			n = int(v)
			if float64(n) != v {
				err = fmt.Errorf("context %s=%v: want a whole number", key, v)
				return
			}
		case string:
			p, perr := strconv.Atoi(strings.TrimSpace(v))
			if perr != nil {
				err = fmt.Errorf("context %s=%q: want a whole number", key, v)
				return
			}
			n = p
		default:
			err = fmt.Errorf("context %s=%v: want a whole number", key, v)
			return
		}
		if n < lo || n > hi {
			err = fmt.Errorf("context %s=%d: want %d to %d", key, n, lo, hi)
			return
		}
		*into = n
	}
	boolean := func(key string, into *bool) {
		if err != nil {
			return
		}
		switch v := lookup(key).(type) {
		case nil:
		case bool:
			*into = v
		case string:
			b, perr := strconv.ParseBool(strings.TrimSpace(v))
			if perr != nil {
				err = fmt.Errorf("context %s=%q: want true or false", key, v)
				return
			}
			*into = b
		default:
			err = fmt.Errorf("context %s=%v: want true or false", key, v)
		}
	}
	list := func(key string, into *[]string) {
		if err != nil {
			return
		}
		var items []string
		switch v := lookup(key).(type) {
		case nil:
			return
		case string:
			items = strings.Split(v, ",")
		case []any:
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					err = fmt.Errorf("context %s: %v is not a string", key, e)
					return
				}
				items = append(items, s)
			}
		default:
			err = fmt.Errorf("context %s=%v: want a list of strings", key, v)
			return
		}
		*into = nil
		for _, s := range items {
			if s = strings.TrimSpace(s); s != "" {
				*into = append(*into, s)
			}
		}
	}

	str(CtxMailFrom, &c.MailFrom)
	boolean(CtxCreateMailIdentity, &c.CreateMailIdentity)
	// A session or invitation of more than 30 days is a standing backdoor, not ad-hoc support.
	num(CtxSessionHours, &c.SessionHours, 1, 720)
	num(CtxInviteHours, &c.InviteHours, 1, 720)
	num(CtxDefaultSlots, &c.DefaultSlots, 0, 100000)
	num(CtxAdhocCap, &c.AdhocCap, 0, 100000)
	num(CtxAPIRateLimit, &c.APIRateLimit, 1, 100000)
	num(CtxAPIBurstLimit, &c.APIBurstLimit, 1, 100000)
	num(CtxLiveRateLimit, &c.LiveRateLimit, 1, 100000)
	num(CtxLiveBurstLimit, &c.LiveBurstLimit, 1, 100000)
	num(CtxPublicRateLimit, &c.PublicRateLimit, 1, 100000)
	num(CtxPublicBurstLimit, &c.PublicBurstLimit, 1, 100000)
	// AWS WAF's rate-based rules count at least 10 requests in their window.
	num(CtxEdgeRateLimit, &c.EdgeRateLimit, 0, 2000000000)
	// Faster than 5 s multiplies the requests for little; slower than 5 minutes leaves a
	// PC reachable that long after its session ended (the app also ends on its own clock).
	num(CtxPollSeconds, &c.PollSeconds, 5, 300)
	str(CtxHiddenUsername, &c.HiddenUsername)
	str(CtxEventBusName, &c.EventBusName)
	list(CtxConsoleCallbackURLs, &c.ConsoleCallbackURLs)
	str(CtxConsoleOrigin, &c.ConsoleOrigin)
	str(CtxAuthDomainPrefix, &c.AuthDomainPrefix)
	str(CtxAlarmEmail, &c.AlarmEmail)
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate checks what CloudFormation would only refuse halfway through a deployment.
func (c Config) Validate() error {
	if err := plainAddress(c.MailFrom); err != nil {
		return fmt.Errorf("context %s: %w", CtxMailFrom, err)
	}
	if c.AlarmEmail != "" {
		if err := plainAddress(c.AlarmEmail); err != nil {
			return fmt.Errorf("context %s: %w", CtxAlarmEmail, err)
		}
	}
	if !session.ValidUsername(c.HiddenUsername) {
		return fmt.Errorf("context %s=%q: not a Windows account name (1 to 20 characters, none of \"/\\[]:;|=,+*?<>@)", CtxHiddenUsername, c.HiddenUsername)
	}
	if c.EventBusName == "" || c.EventBusName == "default" || strings.Contains(c.EventBusName, "/") {
		return fmt.Errorf("context %s=%q: want a custom bus name", CtxEventBusName, c.EventBusName)
	}
	for _, u := range c.ConsoleCallbackURLs {
		if err := callbackURL(u); err != nil {
			return fmt.Errorf("context %s: %w", CtxConsoleCallbackURLs, err)
		}
	}
	if c.ConsoleOrigin != "" {
		u, err := url.Parse(c.ConsoleOrigin)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("context %s=%q: want an https origin like https://console.example.com", CtxConsoleOrigin, c.ConsoleOrigin)
		}
	}
	if c.PublicRateLimit > c.APIRateLimit || c.PublicBurstLimit > c.APIBurstLimit {
		return fmt.Errorf("context %s/%s=%d/%d: a public route's throttle cannot exceed the stage's %d/%d",
			CtxPublicRateLimit, CtxPublicBurstLimit, c.PublicRateLimit, c.PublicBurstLimit, c.APIRateLimit, c.APIBurstLimit)
	}
	if c.EdgeRateLimit != 0 && c.EdgeRateLimit < 10 {
		return fmt.Errorf("context %s=%d: AWS WAF counts at least 10 requests per 5 minutes (0 switches the edge off)", CtxEdgeRateLimit, c.EdgeRateLimit)
	}
	if p := c.AuthDomainPrefix; p != "" {
		if len(p) > 63 || strings.Trim(p, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" ||
			strings.HasPrefix(p, "-") || strings.HasSuffix(p, "-") {
			return fmt.Errorf("context %s=%q: want lower-case letters, digits and inner hyphens", CtxAuthDomainPrefix, p)
		}
		// Cognito reserves these words in domain prefixes.
		for _, w := range []string{"aws", "amazon", "cognito"} {
			if strings.Contains(p, w) {
				return fmt.Errorf("context %s=%q: Cognito refuses prefixes containing %q", CtxAuthDomainPrefix, p, w)
			}
		}
	}
	return nil
}

// plainAddress accepts a bare address: SES identities and IAM conditions compare the
// address itself, so a display name here would never match.
func plainAddress(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fmt.Errorf("%q: want a bare e-mail address like support@company.example", s)
	}
	return nil
}

// callbackURL enforces Cognito's rule: https, or http only for localhost.
func callbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("%q: want an absolute URL without a fragment", s)
	}
	if u.Scheme == "https" || (u.Scheme == "http" && u.Hostname() == "localhost") {
		return nil
	}
	return fmt.Errorf("%q: Cognito accepts https, or http only for localhost", s)
}
