package stack

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
)

// Route is one route of the HTTP API and who serves it.
type Route struct {
	Method   string
	Path     string
	Function string // deploy.Invitation or deploy.Pairing
	// Technician routes carry the Cognito JWT; the others authenticate in the function
	// (invite token, agent token) or serve public static files.
	Technician bool
}

// Routes is the HTTP API of DESIGN.md. The technician routes are the only ones behind
// the JWT authorizer.
var Routes = []Route{
	{"POST", "/v1/sessions", deploy.Invitation, true},
	{"GET", "/v1/sessions", deploy.Invitation, true},
	{"GET", "/v1/sessions/{id}", deploy.Invitation, true},
	{"DELETE", "/v1/sessions/{id}", deploy.Invitation, true},
	{"GET", "/v1/sessions/{id}/audit", deploy.Invitation, true},
	{"GET", "/v1/computers", deploy.Invitation, true},
	{"GET", "/v1/account", deploy.Invitation, true},
	{"POST", "/v1/live/tickets", deploy.Invitation, true},
	{"POST", "/v1/sessions/{id}/remote", deploy.Invitation, true},

	{"POST", "/v1/agent/hello", deploy.Pairing, false},
	{"POST", "/v1/agent/pair", deploy.Pairing, false},
	{"POST", "/v1/agent/poll", deploy.Pairing, false},
	{"POST", "/v1/agent/end", deploy.Pairing, false},
	{"POST", "/v1/agent/removed", deploy.Pairing, false},
	{"POST", "/v1/agent/remote/ended", deploy.Pairing, false},
	{"GET", "/join/{inviteToken}", deploy.Pairing, false},
	{"GET", "/join/{inviteToken}/app", deploy.Pairing, false},

	// The console's static files: public, like any sign-in page; the data behind it is
	// on the technician routes.
	{"GET", "/", deploy.Invitation, false},
	{"GET", "/console/{proxy+}", deploy.Invitation, false},
}

// PublicRoutes are the routes anyone may call without a token of any kind: each gets its
// own throttle (Config.PublicRateLimit), and with the edge (Config.EdgeRateLimit) the WAF
// rule counts them per client IP. As route keys: METHOD and path.
var PublicRoutes = []string{
	"POST /v1/agent/hello",
	"POST /v1/agent/pair",
	"GET /join/{inviteToken}",
	"GET /join/{inviteToken}/app",
}

func newUserPool(st awscdk.Stack) awscognito.UserPool {
	pool := awscognito.NewUserPool(st, jsii.String("Technicians"), &awscognito.UserPoolProps{
		// Technicians are created by an administrator (docs/deploy.md), never by sign-up:
		// a technician gets administrator rights on strangers' PCs.
		SelfSignUpEnabled:   jsii.Bool(false),
		SignInAliases:       &awscognito.SignInAliases{Email: jsii.Bool(true)},
		SignInCaseSensitive: jsii.Bool(false),
		AutoVerify:          &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email: &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
		},
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			// The account a technician belongs to; the API's visibility rules hang on it,
			// so it is set once at creation and never changed (not even by an admin).
			AccountAttribute: awscognito.NewStringAttribute(&awscognito.StringAttributeProps{
				MinLen: jsii.Number(1), MaxLen: jsii.Number(64), Mutable: jsii.Bool(false),
			}),
		},
		// Same reason as above: a stolen technician password must not be enough. TOTP
		// only, so there is no SMS role or SMS bill.
		Mfa:             awscognito.Mfa_REQUIRED,
		MfaSecondFactor: &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(12),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireDigits:        jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		AccountRecovery: awscognito.AccountRecovery_EMAIL_ONLY,
		// Essentials: managed sign-in pages and the free tier of 10,000 monthly users.
		// Threat protection needs Plus (billed per user); see the suppression of COG3.
		FeaturePlan: awscognito.FeaturePlan_ESSENTIALS,
		UserInvitation: &awscognito.UserInvitationConfig{
			EmailSubject: jsii.String("Your Ad-hoc Support technician account"),
			EmailBody:    jsii.String("Sign in to Ad-hoc Support as {username} with the temporary password {####} and set up your authenticator app."),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
	pool.AddGroup(jsii.String("Admins"), &awscognito.UserPoolGroupOptions{
		GroupName:   jsii.String(AdminsGroup),
		Description: jsii.String("Technicians who see and act on every session of their account"),
	})
	return pool
}

// newConsoleClient is the console's public OAuth client: authorization code with PKCE
// (the console holds no secret), tokens valid for a working hour.
func newConsoleClient(pool awscognito.UserPool, callbacks *[]*string) awscognito.UserPoolClient {
	return pool.AddClient(jsii.String("Console"), &awscognito.UserPoolClientOptions{
		GenerateSecret: jsii.Bool(false),
		// SRP only (besides the hosted sign-in): the password never crosses the wire.
		AuthFlows: &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE()},
			CallbackUrls: callbacks,
			LogoutUrls:   callbacks,
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Hours(jsii.Number(12)),
		// The console reads the account claim; nobody may write it through this client.
		ReadAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true), EmailVerified: jsii.Bool(true), Fullname: jsii.Bool(true)}).
			WithCustomAttributes(jsii.String(AccountAttribute)),
		WriteAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{Fullname: jsii.Bool(true)}),
	})
}

// newAuthDomain is the Cognito hosted sign-in domain. The default prefix joins the stack
// name and the account id, unique per region unless the same stack name is deployed
// twice in one account (then set authDomainPrefix).
func newAuthDomain(st awscdk.Stack, pool awscognito.UserPool, cfg Config) awscognito.UserPoolDomain {
	prefix := jsii.String(cfg.AuthDomainPrefix)
	if cfg.AuthDomainPrefix == "" {
		name := strings.ToLower(*st.StackName())
		for _, w := range []string{"aws", "amazon", "cognito"} {
			name = strings.ReplaceAll(name, w, "")
		}
		name = strings.Trim(strings.Map(func(r rune) rune {
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
				return r
			}
			return '-'
		}, name), "-")
		if name == "" {
			name = "adhoc"
		}
		prefix = awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String(name), awscdk.Aws_ACCOUNT_ID()})
	}
	return pool.AddDomain(jsii.String("SignIn"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: prefix},
	})
}

// accessLogFormat is one JSON line per request. It logs the route key, never the path:
// the path of /join/{inviteToken} holds a secret.
func accessLogFormat() string {
	f := map[string]string{
		"requestId":          "$context.requestId",
		"time":               "$context.requestTime",
		"ip":                 "$context.identity.sourceIp",
		"userAgent":          "$context.identity.userAgent",
		"routeKey":           "$context.routeKey",
		"status":             "$context.status",
		"protocol":           "$context.protocol",
		"responseLength":     "$context.responseLength",
		"latency":            "$context.responseLatency",
		"integrationStatus":  "$context.integrationStatus",
		"integrationLatency": "$context.integrationLatency",
		"integrationError":   "$context.integrationErrorMessage",
		"authorizerError":    "$context.authorizer.error",
		"technician":         "$context.authorizer.claims.sub",
	}
	b, err := json.Marshal(f)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return string(b)
}

func newAPI(st awscdk.Stack, cfg Config) awsapigatewayv2.HttpApi {
	props := &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("Ad-hoc Support: technician, agent and join routes, and the console"),
		CreateDefaultStage: jsii.Bool(false), // created below with throttling and access logs
	}
	if cfg.ConsoleOrigin != "" {
		// Only when the console is served from another origin; by default it is served by
		// this API and needs no CORS at all.
		props.CorsPreflight = &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: jsii.Strings(cfg.ConsoleOrigin),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST, awsapigatewayv2.CorsHttpMethod_DELETE},
			AllowHeaders: jsii.Strings("Authorization", "Content-Type"),
			MaxAge:       awscdk.Duration_Hours(jsii.Number(1)),
		}
	}
	api := awsapigatewayv2.NewHttpApi(st, jsii.String("Api"), props)

	logs := awslogs.NewLogGroup(st, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := awsapigatewayv2.NewHttpStage(st, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		// Stage throttling (Config.APIRateLimit): it bounds the bill under a flood, not
		// normal use. Brute force on the code is stopped by the lock after five wrong
		// tries, not by throttling.
		Throttle: &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(cfg.APIRateLimit), BurstLimit: jsii.Number(cfg.APIBurstLimit)},
	})
	// The L2 stage takes access logs only through an interface Go cannot implement for
	// jsii properties, so they are set on the CloudFormation resource. API Gateway wants
	// the log group ARN without the ":*" suffix of the log group's Arn attribute.
	cfn := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfn.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: st.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("logs"),
			Resource:     jsii.String("log-group"),
			ResourceName: logs.LogGroupName(),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}),
		Format: jsii.String(accessLogFormat()),
	})
	// Per-route throttles on the routes without a token: route settings override the
	// stage's default for their route only.
	settings := map[string]any{}
	for _, key := range PublicRoutes {
		settings[key] = map[string]any{"ThrottlingRateLimit": cfg.PublicRateLimit, "ThrottlingBurstLimit": cfg.PublicBurstLimit}
	}
	cfn.SetRouteSettings(settings)
	return api
}

type routeIntegrations map[string]awsapigatewayv2.HttpRouteIntegration

func newRouteIntegrations(invitation, pairing awslambda.Function) routeIntegrations {
	integration := func(id string, fn awslambda.Function) awsapigatewayv2.HttpRouteIntegration {
		return awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(id), fn, &awsapigatewayv2integrations.HttpLambdaIntegrationProps{
			PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
		})
	}
	return routeIntegrations{
		deploy.Invitation: integration("InvitationIntegration", invitation),
		deploy.Pairing:    integration("PairingIntegration", pairing),
	}
}

func (s *AdhocSupportStack) routes(integrations routeIntegrations, pool awscognito.UserPool, client awscognito.UserPoolClient) {
	// The console sends the ID token: it carries email, custom:account and
	// cognito:groups, which the access token of a Cognito user pool does not.
	authorizer := awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("Technicians"), pool,
		&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
			UserPoolClients: &[]awscognito.IUserPoolClient{client},
			IdentitySource:  jsii.Strings("$request.header.Authorization"),
		})
	stage := s.Stack.Node().FindChild(jsii.String("DefaultStage"))
	for _, r := range Routes {
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integrations[r.Function],
		}
		if r.Technician {
			opts.Authorizer = authorizer
		}
		added := s.API.AddRoutes(opts)
		if !r.Technician {
			s.publicRoutes = append(s.publicRoutes, publicRoute{r, *added})
		}
		if slices.Contains(PublicRoutes, r.Method+" "+r.Path) {
			// The stage's route settings name this route: CloudFormation refuses them on a
			// stage created before the route.
			for _, c := range *added {
				stage.Node().AddDependency(c)
			}
		}
	}
}

type publicRoute struct {
	Route
	constructs []awsapigatewayv2.HttpRoute
}
