package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/liveapi"
)

// SweepRate is how often the rule sweeps overdue sessions, the second of DESIGN.md's
// three expiry layers.
const SweepRate = 5 // minutes

// newSweepRule invokes expiry every SweepRate minutes with SweepInput. Schedule rules
// live on the default bus; the product's own bus carries only its events.
func newSweepRule(st awscdk.Stack, expiry awslambda.Function, dlq awssqs.Queue) awsevents.Rule {
	return awsevents.NewRule(st, jsii.String("SweepRule"), &awsevents.RuleProps{
		Description: jsii.String("Ad-hoc Support: expire overdue sessions"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(SweepRate))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(expiry, &awseventstargets.LambdaFunctionProps{
			Event:           awsevents.RuleTargetInput_FromObject(SweepInput),
			DeadLetterQueue: dlq,
			// A sweep older than its successor is worthless: retry briefly, then give up
			// into the dead-letter queue, which raises an alarm.
			RetryAttempts: jsii.Number(2),
			MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(SweepRate)),
		})},
	})
}

// uploadApp copies the Windows app build to the bucket at every deployment. Old files
// are pruned so the join route never offers a stale build; the bucket's versioning keeps
// them for a month anyway.
func uploadApp(st awscdk.Stack, bucket awss3.Bucket, dir string) {
	logs := awslogs.NewLogGroup(st, jsii.String("AppUploadLogs"), &awslogs.LogGroupProps{
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	awss3deployment.NewBucketDeployment(st, jsii.String("AppUpload"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: bucket,
		Sources:           &[]awss3deployment.ISource{awss3deployment.Source_Asset(jsii.String(dir), nil)},
		// dist/agent/windows-<arch>/SupportSession.exe becomes agent/windows-<arch>/SupportSession.exe,
		// where the pairing function looks (internal/setup/s3app).
		DestinationKeyPrefix: jsii.String(deploy.AppKeyPrefix),
		Prune:                jsii.Bool(true),
		RetainOnDelete:       jsii.Bool(true),
		LogGroup:             logs,
		// The app is a few MB; the default 128 MB makes the copy needlessly slow.
		MemoryLimit: jsii.Number(512),
	})
}

// newAlarms watches what nobody would otherwise notice: failing or throttled functions,
// server errors of the API, and anything in a dead-letter queue (each is an expiry that
// did not happen on time). All alarms go to one encrypted SNS topic.
func newAlarms(st awscdk.Stack, cfg Config, s *AdhocSupportStack) awssns.Topic {
	// CloudWatch cannot publish to a topic under the AWS-managed SNS key, so the topic
	// gets its own key that CloudWatch may use.
	key := awskms.NewKey(st, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Ad-hoc Support: alarm topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"), // in a key policy, "*" is this key
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": st.Account()}},
	}), jsii.Bool(false))
	topic := awssns.NewTopic(st, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("Ad-hoc Support alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": st.Account()}},
	}))
	if cfg.AlarmEmail != "" {
		awssns.NewSubscription(st, jsii.String("AlarmMail"), &awssns.SubscriptionProps{
			Topic:    topic,
			Protocol: awssns.SubscriptionProtocol_EMAIL,
			Endpoint: jsii.String(cfg.AlarmEmail),
		})
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	fiveMinutes := awscdk.Duration_Minutes(jsii.Number(5))
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64, op awscloudwatch.ComparisonOperator) {
		a := awscloudwatch.NewAlarm(st, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			ComparisonOperator: op,
			EvaluationPeriods:  jsii.Number(1),
			// No traffic is the normal idle state, not a problem.
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	sum := &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}
	for _, name := range deploy.Functions {
		fn := s.Functions[name]
		id := exportedName(name)
		var failures awscloudwatch.IMetric = fn.MetricErrors(sum)
		if name == deploy.Live {
			failures = liveFailures(st, s, fn, sum)
		}
		alarm(id+"Errors", "The "+name+" function failed (Errors ≥ 1 in 5 minutes); see its log group.",
			failures, 1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
		alarm(id+"Throttles", "The "+name+" function was throttled: the account's Lambda concurrency is exhausted.",
			fn.MetricThrottles(sum), 1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	}
	for _, d := range []struct {
		id string
		q  awssqs.Queue
	}{{"SweepDLQ", s.SweepDLQ}, {"ScheduleDLQ", s.ScheduleDLQ}, {"ExpiryFailures", s.ExpiryFailures}} {
		id, q := d.id, d.q
		alarm(id+"NotEmpty", "Messages in the dead-letter queue "+id+": an expiry was not delivered or failed. Redrive or inspect them.",
			q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Maximum")}),
			0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)
	}
	alarm("Api5xx", "The HTTP API answered 5xx at least 5 times in 5 minutes.",
		s.API.MetricServerError(sum), 5, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	return topic
}

// LiveRefusedMetric is the custom metric of the handshakes the live function refused, in
// the namespace MetricNamespace(stack).
const LiveRefusedMetric = "LiveHandshakesRefused"

// MetricNamespace holds the stack's own metrics; the stack's name keeps two deployments in
// one account (staging, production) apart.
func MetricNamespace(st awscdk.Stack) string { return "AdhocSupport/" + *st.StackName() }

// liveFailures is the live function's Errors without its refused handshakes. A Lambda
// authorizer refuses by failing with "Unauthorized", so every refusal (a scanner of the
// public endpoint, an app whose session is over) counts in Errors; the function logs each
// one as liveapi.LogHandshakeRefused, which a metric filter counts. What remains is a real
// failure, including an authorizer that could not decide (logged as an error).
func liveFailures(st awscdk.Stack, s *AdhocSupportStack, fn awslambda.Function, sum *awscloudwatch.MetricOptions) awscloudwatch.IMetric {
	refused := awslogs.NewMetricFilter(st, jsii.String("LiveRefusedFilter"), &awslogs.MetricFilterProps{
		LogGroup:        s.LogGroups[deploy.Live],
		FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.msg"), jsii.String("="), jsii.String(liveapi.LogHandshakeRefused)),
		MetricNamespace: jsii.String(MetricNamespace(st)),
		MetricName:      jsii.String(LiveRefusedMetric),
		MetricValue:     jsii.String("1"),
	})
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("FILL(errors, 0) - FILL(refused, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"errors":  fn.MetricErrors(sum),
			"refused": refused.Metric(sum),
		},
		Label:  jsii.String("live errors other than refused handshakes"),
		Period: sum.Period,
	})
}

func (s *AdhocSupportStack) outputs(apiURL, publicURL *string, domain awscognito.UserPoolDomain) {
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(description), Value: value})
	}
	if s.Edge == nil {
		out("ApiUrl", "Base URL of the HTTP API (agents and join links use it)", apiURL)
	} else {
		out("ApiUrl", "Base URL of the HTTP API itself, behind the edge: give everyone PublicUrl", apiURL)
		out("PublicUrl", "Base URL of the API through CloudFront and AWS WAF (agents and join links use it)", publicURL)
	}
	out("ConsoleUrl", "The technicians' web console", jsii.String(*publicURL+"/"))
	out("UserPoolId", "Cognito user pool of the technicians", s.UserPool.UserPoolId())
	out("UserPoolClientId", "The console's OAuth client", s.Client.UserPoolClientId())
	out("SignInUrl", "Cognito hosted sign-in", domain.BaseUrl(nil))
	out("EventBusName", "EventBridge bus of the session events", s.Bus.EventBusName())
	out("TableName", "DynamoDB table", s.Table.TableName())
	out("AppBucketName", "S3 bucket of the Windows app", s.AppBucket.BucketName())
	out("LiveUrl", "The live channel's WebSocket URL (the app and the console learn it from the API)", s.LiveStage.Url())
}
