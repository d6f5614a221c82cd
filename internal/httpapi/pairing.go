package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/views"
)

// AppDownloads hands out the Support Session app. In AWS it redirects to a short-lived S3
// link (a Lambda answer is limited to 6 MB); locally it serves the build from disk.
type AppDownloads interface {
	// Download returns the app for an architecture ("amd64" or "arm64") under the given
	// file name, or ErrNoBuild when there is none.
	Download(ctx context.Context, arch, fileName string) (Download, error)
}

// Download is either a redirect or the file itself.
type Download struct {
	RedirectURL string
	Body        []byte
}

// ErrNoBuild says that no app build is available for download.
var ErrNoBuild = errors.New("no app build available")

// bearer reads the agent token from Authorization: Bearer.
func bearer(req events.APIGatewayV2HTTPRequest) string {
	h := header(req, "authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// seconds is a duration as the app's protocol counts it: whole seconds, rounded up, so
// that an app never asks sooner than told.
func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// Pairing is the `pairing` function: the app's protocol and the join page.
func Pairing(svc *support.Service, downloads AppDownloads, log *slog.Logger) Handler {
	withToken := func(name string, f func(ctx context.Context, token string) events.APIGatewayV2HTTPResponse) func(context.Context, events.APIGatewayV2HTTPRequest, map[string]string) events.APIGatewayV2HTTPResponse {
		return func(ctx context.Context, req events.APIGatewayV2HTTPRequest, _ map[string]string) events.APIGatewayV2HTTPResponse {
			token := bearer(req)
			if token == "" {
				return problemResponse(&support.Error{Code: support.CodeInvalidToken, Detail: "Send the app's token as Authorization: Bearer."})
			}
			return f(ctx, token)
		}
	}
	eps := []endpoint{
		{http.MethodPost, protocol.PathHello, func(ctx context.Context, req events.APIGatewayV2HTTPRequest, _ map[string]string) events.APIGatewayV2HTTPResponse {
			var in protocol.HelloRequest
			if e := decode(req, &in); e != nil {
				return problemResponse(e)
			}
			pc := support.PC{Platform: in.Platform, OSVersion: in.OSVersion, Hostname: in.Hostname, AgentVersion: in.AgentVersion, MachineID: in.MachineID}
			out, err := svc.Hello(ctx, in.InviteToken, pc)
			if err != nil {
				return fail(ctx, log, "POST "+protocol.PathHello, err)
			}
			return jsonResponse(http.StatusOK, protocol.HelloResponse{Status: views.AgentStatus(out.Status), Interval: seconds(out.Interval)})
		}},
		{http.MethodPost, protocol.PathPair, func(ctx context.Context, req events.APIGatewayV2HTTPRequest, _ map[string]string) events.APIGatewayV2HTTPResponse {
			var in protocol.PairRequest
			if e := decode(req, &in); e != nil {
				return problemResponse(e)
			}
			out, err := svc.Pair(ctx, support.PairRequest{
				InviteToken: in.InviteToken, SecurityCode: in.SecurityCode, Nonce: in.Nonce,
				PC: support.PC{Platform: in.Platform, OSVersion: in.OSVersion, Hostname: in.Hostname, AgentVersion: in.AgentVersion, MachineID: in.MachineID},
			})
			if err != nil {
				return fail(ctx, log, "POST "+protocol.PathPair, err)
			}
			defer protocol.Wipe(out.Password)
			return jsonResponse(http.StatusOK, protocol.PairResponse{
				AgentToken: out.AgentToken, SessionID: out.SessionID, ExpiresAt: out.ExpiresAt,
				Account:  protocol.HiddenAccount{Username: out.Username, Password: protocol.Secret(out.Password)},
				Interval: seconds(out.Interval), LiveURL: out.LiveURL,
			})
		}},
		{http.MethodPost, protocol.PathPoll, withToken("poll", func(ctx context.Context, token string) events.APIGatewayV2HTTPResponse {
			out, err := svc.Poll(ctx, token)
			if err != nil {
				return fail(ctx, log, "POST "+protocol.PathPoll, err)
			}
			return jsonResponse(http.StatusOK, protocol.PollResponse{
				Status: views.AgentStatus(out.Status), ExpiresAt: out.ExpiresAt, Interval: seconds(out.Interval), LiveURL: out.LiveURL,
			})
		})},
		{http.MethodPost, protocol.PathEnd, withToken("end", func(ctx context.Context, token string) events.APIGatewayV2HTTPResponse {
			status, err := svc.End(ctx, token)
			if err != nil {
				return fail(ctx, log, "POST "+protocol.PathEnd, err)
			}
			return jsonResponse(http.StatusOK, protocol.EndResponse{Status: views.AgentStatus(status)})
		})},
		{http.MethodPost, protocol.PathRemoved, withToken("removed", func(ctx context.Context, token string) events.APIGatewayV2HTTPResponse {
			if err := svc.Removed(ctx, token); err != nil {
				return fail(ctx, log, "POST "+protocol.PathRemoved, err)
			}
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: securityHeaders(map[string]string{})}
		})},
		{http.MethodPost, protocol.PathRemoteEnded, func(ctx context.Context, req events.APIGatewayV2HTTPRequest, _ map[string]string) events.APIGatewayV2HTTPResponse {
			token := bearer(req)
			if token == "" {
				return problemResponse(&support.Error{Code: support.CodeInvalidToken, Detail: "Send the app's token as Authorization: Bearer."})
			}
			var in protocol.RemoteEndedRequest
			if e := decode(req, &in); e != nil {
				return problemResponse(e)
			}
			err := svc.RemoteEnded(ctx, token, support.RemoteReport{RemoteID: in.RemoteID, Reason: in.Reason, Channels: in.Channels,
				Duration: time.Duration(in.DurationMs) * time.Millisecond, BytesToPC: in.BytesToPC, BytesFromPC: in.BytesFromPC})
			if err != nil {
				return fail(ctx, log, "POST "+protocol.PathRemoteEnded, err)
			}
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: securityHeaders(map[string]string{})}
		}},
		{http.MethodGet, "/join/{token}", func(ctx context.Context, req events.APIGatewayV2HTTPRequest, p map[string]string) events.APIGatewayV2HTTPResponse {
			return joinPage(ctx, svc, downloads, log, req, p["token"])
		}},
		{http.MethodGet, "/join/{token}/app", func(ctx context.Context, req events.APIGatewayV2HTTPRequest, p map[string]string) events.APIGatewayV2HTTPResponse {
			return appDownload(ctx, svc, downloads, log, req, p["token"])
		}},
	}
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return dispatch(ctx, req, eps), nil
	}
}

func appDownload(ctx context.Context, svc *support.Service, downloads AppDownloads, log *slog.Logger, req events.APIGatewayV2HTTPRequest, token string) events.APIGatewayV2HTTPResponse {
	info, err := svc.JoinInfo(ctx, token)
	if err != nil {
		return fail(ctx, log, "GET /join/{token}/app", err)
	}
	if !info.Open {
		return problemResponse(&support.Error{Code: support.CodeExpired, Detail: "This invitation has ended or expired. Ask the technician for a new one."})
	}
	arch := req.QueryStringParameters["arch"]
	switch arch {
	case "", "amd64", "x64":
		arch = "amd64"
	case "arm64":
	default:
		return problemResponse(badRequest("arch must be amd64 or arm64."))
	}
	name := protocol.AppFileName(token)
	if downloads == nil {
		return problemResponse(&support.Error{Code: support.CodeNotFound, Detail: "The Support Session app is not available for download right now."})
	}
	d, err := downloads.Download(ctx, arch, name)
	if errors.Is(err, ErrNoBuild) {
		return problemResponse(&support.Error{Code: support.CodeNotFound, Detail: "The Support Session app is not available for download right now."})
	}
	if err != nil {
		return fail(ctx, log, "GET /join/{token}/app", err)
	}
	if d.RedirectURL != "" {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusFound, Headers: securityHeaders(map[string]string{"Location": d.RedirectURL})}
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers: securityHeaders(map[string]string{
			"Content-Type":        "application/vnd.microsoft.portable-executable",
			"Content-Disposition": `attachment; filename="` + name + `"`,
		}),
		Body:            base64.StdEncoding.EncodeToString(d.Body),
		IsBase64Encoded: true,
	}
}
