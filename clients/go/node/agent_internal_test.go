package node

import "testing"

func TestPromptOfReadsTextAndAISDKMessages(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    string
		ok      bool
	}{
		{`{"prompt": "hello"}`, "hello", true},
		{`{"prompt": ""}`, "", true},
		{`{"prompt": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
			{"role": "user", "content": [{"type": "text", "text": "there"}, 7, {"type": "image"}]}, "junk"]}`,
			"hi\nthere", true},
		{`{"prompt": [{"role": "assistant", "content": "no"}]}`, "", false},
		{`{"text": "no prompt"}`, "", false},
		{`not json`, "", false},
	} {
		got, ok := promptOf(tc.payload)
		if got != tc.want || ok != tc.ok {
			t.Errorf("promptOf(%s) = %q, %v; want %q, %v", tc.payload, got, ok, tc.want, tc.ok)
		}
	}
}
