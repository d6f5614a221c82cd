// Command infra is the CDK app of Ad-hoc Support: `cdk synth` and `cdk deploy` run it
// (cdk.json at the repository root). Parameters come from cdk.json's context; see
// docs/deploy.md.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/adhoc-support/adhoc-support/infra/stack"
)

// Context keys only the app reads (the stack's parameters are in package stack).
const (
	ctxStackName = "stackName" // default AdhocSupport
	ctxAssetDir  = "assetDir"  // default dist/functions (make build)
	ctxAgentDir  = "agentDir"  // default dist/agent, uploaded when it exists
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	lookup := func(key string) any { return app.Node().TryGetContext(jsii.String(key)) }
	cfg, err := stack.ConfigFrom(lookup)
	if err != nil {
		return err
	}
	str := func(key, def string) string {
		if v, ok := lookup(key).(string); ok && v != "" {
			return v
		}
		return def
	}
	assetDir := str(ctxAssetDir, "dist/functions")
	if err := stack.CheckAssets(assetDir); err != nil {
		return err
	}
	// The app build is uploaded only if it is a signed release for this stack's API: a
	// development build (make test's, in dist/agent-dev) or one for another server stops
	// the synth. No build yet: deploy without it; the join page says so until the next
	// deployment uploads one.
	agentDir := str(ctxAgentDir, "dist/agent")
	upload, err := stack.CheckApp(agentDir, stack.AppCheck{
		ServerURL: str(stack.CtxAPIURL, ""), SigningCA: str(stack.CtxAgentSigningCA, ""),
		TimestampCA: str(stack.CtxAgentTimestampCA, ""), SessionHours: cfg.SessionHours,
	})
	if err != nil {
		return err
	}
	if !upload {
		agentDir = ""
	}

	name := str(ctxStackName, "AdhocSupport")
	props := &stack.AdhocSupportStackProps{
		StackProps: awscdk.StackProps{
			Env:         env(),
			Description: jsii.String("Ad-hoc Support: serverless remote-support back end"),
		},
		Config:   cfg,
		AssetDir: assetDir,
		AgentDir: agentDir,
	}
	if cfg.EdgeRateLimit > 0 {
		// The web ACL must live in us-east-1; CDK carries its ARN across regions, which
		// needs both stacks' account and region (the CLI sets them on deploy).
		e := props.Env
		if e == nil || e.Account == nil || e.Region == nil {
			return fmt.Errorf("context %s: the edge needs the stack's account and region (CDK_DEFAULT_ACCOUNT, CDK_DEFAULT_REGION; cdk deploy sets them from the profile)", stack.CtxEdgeRateLimit)
		}
		edge := stack.NewEdgeStack(app, stack.EdgeStackName(name), &stack.EdgeStackProps{
			StackProps: awscdk.StackProps{
				Env:         &awscdk.Environment{Account: e.Account, Region: jsii.String(stack.EdgeRegion)},
				Description: jsii.String("Ad-hoc Support: the AWS WAF web ACL of the CloudFront edge"),
			},
			RateLimit: cfg.EdgeRateLimit,
		})
		props.EdgeWebACLArn = edge.WebACL.AttrArn()
		props.CrossRegionReferences = jsii.Bool(true)
	}
	s := stack.NewAdhocSupportStack(app, name, props)
	if cfg.MailFrom == stack.DefaultMailFrom {
		awscdk.Annotations_Of(s.Stack).AddWarningV2(jsii.String("adhoc:mailFrom"),
			jsii.String("mailFrom is the placeholder "+stack.DefaultMailFrom+": set your sender address in cdk.json before deploying"), nil)
	}
	awscdk.Tags_Of(app).Add(jsii.String("Project"), jsii.String("adhoc-support"), nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	return nil
}

// env pins the stack to the CLI's account and region when it knows them (credentials
// present); offline synth leaves the stack environment-agnostic.
func env() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" && region == "" {
		return nil
	}
	e := &awscdk.Environment{}
	if account != "" {
		e.Account = jsii.String(account)
	}
	if region != "" {
		e.Region = jsii.String(region)
	}
	return e
}
