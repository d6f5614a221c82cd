// Package s3app is the setup part of the function that hands out the Windows app
// (pairing, behind the join page): short-lived S3 links to the builds in the app bucket.
package s3app

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/httpapi"
	"github.com/adhoc-support/adhoc-support/internal/setup"
)

// Part hands out the app from the bucket APP_BUCKET. Without the variable the function
// hands out nothing, and the join page says the app is not available.
func Part(a *setup.AWS, env *setup.Env) error {
	bucket := env.Get(deploy.EnvAppBucket)
	if bucket == "" {
		return nil
	}
	client := s3.NewFromConfig(a.Config)
	a.Downloads = downloads{presign: s3.NewPresignClient(client), client: client, bucket: bucket}
	return nil
}

// downloads hands out the app as a short-lived S3 link: a Lambda answer is limited to
// 6 MB, and S3 serves the file faster and cheaper.
type downloads struct {
	presign *s3.PresignClient
	client  *s3.Client
	bucket  string
}

// key is where the stack uploads `make agent`'s dist/agent/windows-<arch>/ folders.
func key(arch string) string { return deploy.AppKeyPrefix + "windows-" + arch + "/SupportSession.exe" }

func (d downloads) Available(ctx context.Context, arch string) bool {
	_, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(key(arch))})
	return err == nil
}

func (d downloads) Download(ctx context.Context, arch, fileName string) (httpapi.Download, error) {
	if !d.Available(ctx, arch) {
		return httpapi.Download{}, httpapi.ErrNoBuild
	}
	req, err := d.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket:                     aws.String(d.bucket),
		Key:                        aws.String(key(arch)),
		ResponseContentDisposition: aws.String(`attachment; filename="` + fileName + `"`),
		ResponseContentType:        aws.String("application/vnd.microsoft.portable-executable"),
	}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		return httpapi.Download{}, fmt.Errorf("presign app download: %w", err)
	}
	return httpapi.Download{RedirectURL: req.URL}, nil
}
