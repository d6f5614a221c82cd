package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/views"
)

// Claims the JWT authorizer passes on (Cognito ID token; the local issuer mints the same).
const (
	ClaimSubject = "sub"
	ClaimEmail   = "email"
	ClaimName    = "name"
	ClaimAccount = "custom:account"
	ClaimGroups  = "cognito:groups"
	AdminGroup   = "admins"
)

// technician reads the caller from the authorizer's claims. API Gateway passes every claim
// as a string; a list claim such as cognito:groups arrives as "[admins other]".
func technician(req events.APIGatewayV2HTTPRequest) (support.Technician, bool) {
	a := req.RequestContext.Authorizer
	if a == nil || a.JWT == nil {
		return support.Technician{}, false
	}
	c := a.JWT.Claims
	t := support.Technician{ID: c[ClaimSubject], Email: c[ClaimEmail], Name: c[ClaimName], Account: c[ClaimAccount]}
	if t.ID == "" || t.Account == "" {
		return support.Technician{}, false
	}
	groups := strings.Trim(c[ClaimGroups], "[]")
	for _, g := range strings.FieldsFunc(groups, func(r rune) bool { return r == ' ' || r == ',' }) {
		if strings.Trim(g, `"`) == AdminGroup {
			t.Admin = true
		}
	}
	return t, true
}

// inviteBody is the body of POST /v1/sessions.
type inviteBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Locale   string `json:"locale"`
}

var errUnauthorized = &support.Error{Code: support.CodeUnauthorized, Detail: "Sign in first: the request carries no valid technician token."}

// Invitation is the `invitation` function: the technician routes, and the console.
func Invitation(svc *support.Service, console http.Handler, log *slog.Logger) Handler {
	type techServe func(ctx context.Context, tech support.Technician, req events.APIGatewayV2HTTPRequest, params map[string]string) events.APIGatewayV2HTTPResponse
	authed := func(name string, f techServe) func(context.Context, events.APIGatewayV2HTTPRequest, map[string]string) events.APIGatewayV2HTTPResponse {
		return func(ctx context.Context, req events.APIGatewayV2HTTPRequest, params map[string]string) events.APIGatewayV2HTTPResponse {
			tech, ok := technician(req)
			if !ok {
				return problemResponse(errUnauthorized)
			}
			return f(ctx, tech, req, params)
		}
	}
	eps := []endpoint{
		{http.MethodPost, "/v1/sessions", authed("create", func(ctx context.Context, tech support.Technician, req events.APIGatewayV2HTTPRequest, _ map[string]string) events.APIGatewayV2HTTPResponse {
			var in inviteBody
			if e := decode(req, &in); e != nil {
				return problemResponse(e)
			}
			inv, err := svc.Invite(ctx, tech, support.InviteRequest{Email: in.Email, Password: in.Password, Locale: in.Locale})
			if err != nil {
				return fail(ctx, log, "POST /v1/sessions", err)
			}
			resp := jsonResponse(http.StatusCreated, views.Invitation(inv))
			resp.Headers["Location"] = "/v1/sessions/" + inv.ID
			return resp
		})},
		{http.MethodGet, "/v1/sessions", authed("list", func(ctx context.Context, tech support.Technician, _ events.APIGatewayV2HTTPRequest, _ map[string]string) events.APIGatewayV2HTTPResponse {
			list, err := svc.List(ctx, tech)
			if err != nil {
				return fail(ctx, log, "GET /v1/sessions", err)
			}
			return jsonResponse(http.StatusOK, map[string]any{"sessions": views.Sessions(list)})
		})},
		{http.MethodGet, "/v1/sessions/{id}", authed("get", func(ctx context.Context, tech support.Technician, _ events.APIGatewayV2HTTPRequest, p map[string]string) events.APIGatewayV2HTTPResponse {
			v, err := svc.Get(ctx, tech, p["id"])
			if err != nil {
				return fail(ctx, log, "GET /v1/sessions/{id}", err)
			}
			return jsonResponse(http.StatusOK, views.Session(v))
		})},
		{http.MethodDelete, "/v1/sessions/{id}", authed("cancel", func(ctx context.Context, tech support.Technician, _ events.APIGatewayV2HTTPRequest, p map[string]string) events.APIGatewayV2HTTPResponse {
			v, err := svc.Cancel(ctx, tech, p["id"])
			if err != nil {
				return fail(ctx, log, "DELETE /v1/sessions/{id}", err)
			}
			return jsonResponse(http.StatusOK, views.Session(v))
		})},
		{http.MethodGet, "/v1/sessions/{id}/audit", authed("audit", func(ctx context.Context, tech support.Technician, _ events.APIGatewayV2HTTPRequest, p map[string]string) events.APIGatewayV2HTTPResponse {
			entries, err := svc.Audit(ctx, tech, p["id"])
			if err != nil {
				return fail(ctx, log, "GET /v1/sessions/{id}/audit", err)
			}
			return jsonResponse(http.StatusOK, map[string]any{"sessionId": p["id"], "entries": views.Audit(entries)})
		})},
		{http.MethodPost, "/v1/sessions/{id}/remote", authed("remote", func(ctx context.Context, tech support.Technician, _ events.APIGatewayV2HTTPRequest, p map[string]string) events.APIGatewayV2HTTPResponse {
			r, err := svc.StartRemote(ctx, tech, p["id"])
			if err != nil {
				return fail(ctx, log, "POST /v1/sessions/{id}/remote", err)
			}
			return jsonResponse(http.StatusCreated, views.StartedRemote(r))
		})},
		{http.MethodGet, "/v1/computers", authed("computers", func(ctx context.Context, tech support.Technician, req events.APIGatewayV2HTTPRequest, _ map[string]string) events.APIGatewayV2HTTPResponse {
			if g := req.QueryStringParameters["group"]; g != "" && g != support.GroupAdhoc {
				return problemResponse(badRequest("Unknown computer group; the only group is \"adhoc\"."))
			}
			list, err := svc.Computers(ctx, tech)
			if err != nil {
				return fail(ctx, log, "GET /v1/computers", err)
			}
			return jsonResponse(http.StatusOK, map[string]any{
				"group": support.GroupAdhoc, "name": "Ad-hoc support sessions", "computers": views.Computers(list),
			})
		})},
		{http.MethodPost, "/v1/live/tickets", authed("ticket", func(ctx context.Context, tech support.Technician, _ events.APIGatewayV2HTTPRequest, _ map[string]string) events.APIGatewayV2HTTPResponse {
			t, err := svc.IssueTicket(ctx, tech)
			if err != nil {
				return fail(ctx, log, "POST /v1/live/tickets", err)
			}
			return jsonResponse(http.StatusCreated, views.Ticket(t))
		})},
		{http.MethodGet, "/v1/account", authed("account", func(ctx context.Context, tech support.Technician, _ events.APIGatewayV2HTTPRequest, _ map[string]string) events.APIGatewayV2HTTPResponse {
			a, err := svc.Account(ctx, tech)
			if err != nil {
				return fail(ctx, log, "GET /v1/account", err)
			}
			return jsonResponse(http.StatusOK, views.Account(a))
		})},
	}
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		_, path := route(req)
		if console != nil && !strings.HasPrefix(path, "/v1/") {
			return serveHTTP(ctx, console, req), nil
		}
		return dispatch(ctx, req, eps), nil
	}
}
