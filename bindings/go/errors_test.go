package slotq_test

import (
	"errors"
	"strings"
	"testing"

	"libslotq.dev/slotq"
)

func TestErrnoTexts(t *testing.T) {
	if got := slotq.ErrTimedOut.Error(); got != "timed out" {
		t.Errorf("ErrTimedOut.Error() = %q", got)
	}
	if got := slotq.ErrTimedOut.Name(); got != "SLOTQ_ETIMEDOUT" {
		t.Errorf("ErrTimedOut.Name() = %q", got)
	}
	if got := slotq.ErrInternal.Name(); got != "SLOTQ_EINTERNAL" {
		t.Errorf("ErrInternal.Name() = %q", got)
	}
}

func TestErrorWrapsStatus(t *testing.T) {
	q := slotq.NewSlotQueue("errors")
	defer q.Close()
	err := q.ExitState(slotq.SlotQueueWaiter)
	if !errors.Is(err, slotq.ErrState) {
		t.Fatalf("ExitState at zero: %v, want ErrState", err)
	}
	var e *slotq.Error
	if !errors.As(err, &e) || e.Code != slotq.ErrState {
		t.Fatalf("ExitState error %#v is not a *slotq.Error with ErrState", err)
	}
	if !strings.Contains(err.Error(), "operation not valid in the current state") {
		t.Errorf("error text %q lacks the library's message", err.Error())
	}
}

func TestVersion(t *testing.T) {
	if slotq.Version() == "" || slotq.VersionNumber() < 10000 {
		t.Fatalf("version %q / %d", slotq.Version(), slotq.VersionNumber())
	}
}
