package dbus

import (
	"fmt"
	"reflect"

	godbus "github.com/godbus/dbus/v5"
	"github.com/rockon/rockon/model"
)

// choicesTooBig reports whether the choices argument carries more than an
// install config may hold, counting the bytes of every string in it. It is
// checked before anything else (authorization included, which waits for
// the bus): a caller's oversized message is let go at once, instead of
// being held while its caller is looked up.
func choicesTooBig(ch map[string]godbus.Variant) *godbus.Error {
	n := 0
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		if n > model.MaxConfigSize || !v.IsValid() {
			return
		}
		switch v.Kind() {
		case reflect.String:
			n += v.Len()
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Key())
				walk(it.Value())
			}
		case reflect.Interface, reflect.Pointer:
			walk(v.Elem())
		case reflect.Struct:
			if vv, ok := v.Interface().(godbus.Variant); ok {
				walk(reflect.ValueOf(vv.Value()))
			}
		default:
			n += 8
		}
	}
	walk(reflect.ValueOf(ch))
	if n > model.MaxConfigSize {
		return invalid(fmt.Sprintf("choices: more than the %d bytes an install config may have", model.MaxConfigSize))
	}
	return nil
}

func invalid(msg string) *godbus.Error {
	return toDBusError(fmt.Errorf("%w: %s", model.ErrInvalidArgs, msg))
}
