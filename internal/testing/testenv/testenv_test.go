package testenv_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestTablesAreFreshAndDeleted(t *testing.T) {
	var names []string
	var client *dynamodb.Client
	t.Run("inner", func(t *testing.T) {
		c1, a := testenv.Table(t)
		_, b := testenv.Table(t)
		client = c1
		if a == b {
			t.Fatalf("two calls gave the same table %s", a)
		}
		for _, name := range []string{a, b} {
			d, err := c1.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatalf("DescribeTable(%s): %v", name, err)
			}
			if len(d.Table.GlobalSecondaryIndexes) != 2 {
				t.Errorf("table %s has %d indexes, want the store's 2", name, len(d.Table.GlobalSecondaryIndexes))
			}
		}
		names = []string{a, b}
	})
	out, err := client.ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	for _, have := range out.TableNames {
		for _, gone := range names {
			if have == gone {
				t.Errorf("table %s not deleted after its test", gone)
			}
		}
	}
}

func TestStoreIsUsable(t *testing.T) {
	st := testenv.Store(t)
	a, err := st.Account(t.Context(), "acme", support.Limits{Slots: 3, AdhocCap: 2})
	if err != nil || a.Limits.Slots != 3 || a.Used != 0 {
		t.Fatalf("Account on a fresh store = %+v, %v", a, err)
	}
}

func send(t *testing.T, to []string, subject string) {
	t.Helper()
	_, err := testenv.SESClient(t).SendEmail(t.Context(), &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("Ad-hoc Support <noreply@example.com>"),
		Destination:      &sestypes.Destination{ToAddresses: to},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(subject)},
			Body: &sestypes.Body{
				Html: &sestypes.Content{Data: aws.String("<p>" + subject + "</p>")},
				Text: &sestypes.Content{Data: aws.String(subject)},
			},
		}},
	})
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
}

func TestReadMailsBack(t *testing.T) {
	endpoint := testenv.SES(t)
	since := time.Now()
	me := fmt.Sprintf("user-%d@example.com", since.UnixNano())
	send(t, []string{"Someone Else <other@example.com>", "User <" + me + ">"}, "hello")
	send(t, []string{"other@example.com"}, "not for me")

	got := testenv.MailsTo(t, endpoint, me, since)
	if len(got) != 1 {
		t.Fatalf("MailsTo(%s) = %d mails, want 1: %+v", me, len(got), got)
	}
	m := got[0]
	if m.Subject != "hello" || m.HTML != "<p>hello</p>" || m.Text != "hello" ||
		m.From != "Ad-hoc Support <noreply@example.com>" || len(m.To) != 2 || m.MessageID == "" {
		t.Errorf("mail = %+v", m)
	}
	if m.At.Before(since.Truncate(time.Second)) || m.At.After(time.Now()) {
		t.Errorf("mail sent at %s, test ran from %s", m.At, since)
	}
	if w := testenv.WaitMail(t, endpoint, me, since); w.MessageID != m.MessageID {
		t.Errorf("WaitMail = %s, want %s", w.MessageID, m.MessageID)
	}
	if all := testenv.ReadMails(t, endpoint, since); len(all) < 2 {
		t.Errorf("ReadMails = %d mails, want both", len(all))
	}
	if later := testenv.MailsTo(t, endpoint, me, time.Now().Add(time.Hour)); len(later) != 0 {
		t.Errorf("mails from the future: %+v", later)
	}
}

func TestSentTo(t *testing.T) {
	m := testenv.Mail{To: []string{"Name <a@example.com>"}, Cc: []string{"b@example.com"}, Bcc: []string{" C@Example.com "}}
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"a@example.com", true}, {"A@EXAMPLE.COM", true}, {"b@example.com", true},
		{"c@example.com", true}, {"d@example.com", false}, {"example.com", false},
	} {
		if got := m.SentTo(tt.addr); got != tt.want {
			t.Errorf("SentTo(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}
