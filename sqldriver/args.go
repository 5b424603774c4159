package sqldriver

import (
	"database/sql/driver"
	"fmt"
	"reflect"
	"time"
)

// argValue converts an argument bound for a protected column, a row key
// or a guarded limit the way database/sql's driver.DefaultParameterConverter
// does: a driver.Valuer gives its value (a nil pointer to one gives NULL),
// pointers are followed (nil is NULL), named string, integer, float, bool
// and []byte types become their underlying values. The wrapped driver may
// accept anything (pgx's CheckNamedValue does), so database/sql never
// converts such arguments before the driver sees them: GORM and sqlx bind
// *string fields and named types. Beyond the default converter, it keeps
// unsigned integers over 1<<63 and 16-byte arrays (UUIDs) that are not
// Valuers. A Valuer that fails, or gives what is not a driver.Value, is
// an error.
var valuerType = reflect.TypeFor[driver.Valuer]()

func argValue(v any) (driver.Value, error) {
	switch v.(type) {
	case nil, string, []byte, int64, float64, bool, time.Time, int, int32, uint32, uint64:
		return v, nil
	}
	out, err := driver.DefaultParameterConverter.ConvertValue(v)
	if err == nil {
		return out, nil
	}
	rv := reflect.ValueOf(v)
	for {
		// A Valuer's own answer stands, its failure too: never the
		// bytes or number underneath it.
		if rv.Type().Implements(valuerType) {
			return nil, err
		}
		if rv.Kind() != reflect.Pointer || rv.IsNil() {
			break
		}
		rv = rv.Elem()
	}
	switch {
	case rv.Kind() == reflect.Uint64 || rv.Kind() == reflect.Uint:
		return rv.Uint(), nil
	case rv.Kind() == reflect.Array && rv.Type().Elem().Kind() == reflect.Uint8 && rv.Len() == 16:
		b := make([]byte, 16)
		reflect.Copy(reflect.ValueOf(b), rv)
		return b, nil
	}
	return nil, fmt.Errorf("unsupported type %T", v)
}
