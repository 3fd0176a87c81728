package state

import (
	"reflect"
	"testing"
)

// FuzzDecodeRecord: whatever a file holds, decoding returns an error or a
// valid record, never panics, and a record it accepts saves and reads back
// the same.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(recordTOML("X")))
	f.Add([]byte(recordTOML("X") + "[[units]]\nname = \"a.service\"\nsha256 = \"" + ContentHash(nil) + "\"\n"))
	f.Add([]byte("schema = 0\nname = \"X\"\nenabled = true\ndefinition = '{}'\n[images.a]\nref = \"r\"\n"))
	if data, err := encodeInstalled(fullInstalled("X")); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := decodeInstalled("f.toml", data)
		if err != nil {
			return
		}
		if err := in.Validate(); err != nil {
			t.Fatalf("decoded an invalid record: %v", err)
		}
		out, err := encodeInstalled(in)
		if err != nil {
			t.Fatalf("accepted record does not encode: %v", err)
		}
		back, err := decodeInstalled("f.toml", out)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v\n%s", err, out)
		}
		in.Schema = CurrentSchema
		if !reflect.DeepEqual(back, in) {
			t.Fatalf("round trip differs:\n%+v\n%+v", in, back)
		}
	})
}
