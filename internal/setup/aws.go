package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/connections"
	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/eventbus"
	"github.com/adhoc-support/adhoc-support/internal/httpapi"
	"github.com/adhoc-support/adhoc-support/internal/mail"
	"github.com/adhoc-support/adhoc-support/internal/schedule"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// AWS is the service and its parts as the Lambda functions run them.
type AWS struct {
	Service   *support.Service
	Downloads httpapi.AppDownloads
	Log       *slog.Logger
}

// FromAWS wires the service to DynamoDB, SES, EventBridge, Scheduler, KMS and the live
// channel's @connections from the function's environment. A missing required variable is
// an error at start, not at the first request. No variable of the product's own moves a
// client: the SDK's AWS_ENDPOINT_URL_<SERVICE> (config.LoadDefaultConfig reads them)
// point the real bootstraps at local stand-ins and fakes in tests; none is set in AWS.
func FromAWS(ctx context.Context, getenv func(string) string) (*AWS, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := Settings(getenv)
	if err != nil {
		return nil, err
	}
	var missing []string
	need := func(name string) string {
		v := getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	table := need(deploy.EnvTableName)
	bus := need(deploy.EnvEventBusName)
	passwordKey := need(deploy.EnvPasswordKey)
	macKey := need(deploy.EnvMACKey)
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing environment variables: %v", missing)
	}
	liveEndpoint, liveURL, err := liveSettings(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	ddb := dynamodb.NewFromConfig(awsCfg)
	kmsClient := kms.NewFromConfig(awsCfg)
	a := &AWS{Log: log}
	a.Service = &support.Service{
		Store:  store.New(ddb, table),
		Events: eventbus.NewEventBridge(eventbridge.NewFromConfig(awsCfg), bus),
		Sealer: secrets.NewKMSSealer(kmsClient, passwordKey),
		Codes:  secrets.NewKMSCodeMAC(kmsClient, macKey),
		Config: cfg,
		Log:    log,
	}
	if from := getenv(deploy.EnvMailFrom); from != "" {
		ses := sesv2.NewFromConfig(awsCfg)
		var opts []mail.Option
		if set := getenv(deploy.EnvMailConfigSet); set != "" {
			opts = append(opts, mail.WithConfigurationSet(set))
		}
		a.Service.Mail = mail.New(ses, from, opts...)
	} else {
		a.Service.Mail = noMail{}
	}
	if group := getenv(deploy.EnvScheduleGroup); group != "" {
		a.Service.Schedules = schedule.NewEventBridgeScheduler(scheduler.NewFromConfig(awsCfg), schedule.Config{
			GroupName: group, TargetARN: getenv(deploy.EnvExpiryFunction), RoleARN: getenv(deploy.EnvSchedulerRole), DLQARN: getenv(deploy.EnvExpiryDLQ),
		})
	} else {
		a.Service.Schedules = noSchedules{log: log}
	}
	if liveEndpoint != "" {
		a.Service.Live = connections.NewForEndpoint(awsCfg, liveEndpoint)
		a.Service.Config.LiveURL = liveURL
	}
	if bucket := getenv(deploy.EnvAppBucket); bucket != "" {
		a.Downloads = s3Downloads{presign: s3.NewPresignClient(s3.NewFromConfig(awsCfg)), client: s3.NewFromConfig(awsCfg), bucket: bucket}
	}
	return a, nil
}

// liveSettings reads the live channel's two variables: both set and well-formed, or
// neither. Half a live channel would hand out a URL nobody pushes to, or push to
// connections no client was told how to open.
func liveSettings(getenv func(string) string) (endpoint, liveURL string, err error) {
	endpoint, liveURL = getenv(deploy.EnvLiveEndpoint), getenv(deploy.EnvLiveURL)
	if endpoint == "" && liveURL == "" {
		return "", "", nil
	}
	if endpoint == "" || liveURL == "" {
		return "", "", fmt.Errorf("%s and %s go together: set both (the live channel) or neither", deploy.EnvLiveEndpoint, deploy.EnvLiveURL)
	}
	if u, perr := url.Parse(endpoint); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", fmt.Errorf("%s=%q: want the stage's https:// URL", deploy.EnvLiveEndpoint, endpoint)
	}
	if u, perr := url.Parse(liveURL); perr != nil || (u.Scheme != "wss" && u.Scheme != "ws") || u.Host == "" {
		return "", "", fmt.Errorf("%s=%q: want the stage's wss:// URL", deploy.EnvLiveURL, liveURL)
	}
	return endpoint, liveURL, nil
}

// noMail is the mailer of a function that must never send mail (pairing, expiry): their
// roles are not allowed to, and this makes a wrong call fail loudly.
type noMail struct{}

func (noMail) SendInvitation(context.Context, support.InvitationMail) error {
	return errors.New("this function does not send mail")
}

// noSchedules stands in where no schedule group is configured: the 5-minute sweep still
// expires every session on time.
type noSchedules struct{ log *slog.Logger }

func (n noSchedules) ScheduleExpiry(_ context.Context, name string, _ time.Time, _ events.ExpiryDue) error {
	n.log.Warn("no schedule group configured; relying on the sweep", "schedule", name)
	return nil
}

func (noSchedules) DeleteExpiry(context.Context, string) error { return nil }

// s3Downloads hands out the app as a short-lived S3 link: a Lambda answer is limited to
// 6 MB, and S3 serves the file faster and cheaper.
type s3Downloads struct {
	presign *s3.PresignClient
	client  *s3.Client
	bucket  string
}

// appKey is where the stack uploads `make agent`'s dist/agent/windows-<arch>/ folders.
func appKey(arch string) string { return "agent/windows-" + arch + "/SupportSession.exe" }

func (d s3Downloads) Available(ctx context.Context, arch string) bool {
	_, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(appKey(arch))})
	return err == nil
}

func (d s3Downloads) Download(ctx context.Context, arch, fileName string) (httpapi.Download, error) {
	if !d.Available(ctx, arch) {
		return httpapi.Download{}, httpapi.ErrNoBuild
	}
	req, err := d.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket:                     aws.String(d.bucket),
		Key:                        aws.String(appKey(arch)),
		ResponseContentDisposition: aws.String(`attachment; filename="` + fileName + `"`),
		ResponseContentType:        aws.String("application/vnd.microsoft.portable-executable"),
	}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		return httpapi.Download{}, fmt.Errorf("presign app download: %w", err)
	}
	return httpapi.Download{RedirectURL: req.URL}, nil
}
