package grants

import (
	"slices"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
)

func TestTable(t *testing.T) {
	for _, fn := range deploy.Functions {
		actions := Actions[fn]
		if len(actions) == 0 {
			t.Errorf("%s has no actions", fn)
		}
		if !slices.IsSorted(actions) || len(slices.Compact(slices.Clone(actions))) != len(actions) {
			t.Errorf("%s: actions %v must be sorted and unique", fn, actions)
		}
		for _, a := range actions {
			svc, op, ok := strings.Cut(a, ":")
			if !ok || svc == "" || op == "" || strings.ContainsAny(a, "* ") {
				t.Errorf("%s: %q is not a single service:Action", fn, a)
			}
			if svc == "dynamodb" || svc == "logs" || svc == "xray" {
				t.Errorf("%s: %s is outside what this table covers", fn, a)
			}
		}
	}
	if len(Actions) != len(deploy.Functions) {
		t.Errorf("%d functions in the table, want one for each of %v", len(Actions), deploy.Functions)
	}
	if !Allowed(deploy.Pairing, "kms:Decrypt") || Allowed(deploy.Pairing, "ses:SendEmail") || Allowed("nope", "kms:Decrypt") ||
		!Allowed(deploy.Live, ManageConnections) || Allowed(deploy.Live, "kms:Decrypt") || Allowed(deploy.Live, "ses:SendEmail") {
		t.Error("Allowed disagrees with the table")
	}
}
