package bench

import "bytes"

// splitEvents finds the complete events in buf (each ends with a blank
// line; the engine writes LF line ends and "data:" lines), calls emit with
// the data of each (data lines joined with LF; comments, ids and retry
// fields skipped) and returns how many bytes it consumed. emit's argument is
// valid until the next call.
func splitEvents(buf []byte, scratch *[]byte, emit func([]byte)) int {
	start := 0
	for {
		i := bytes.Index(buf[start:], []byte("\n\n"))
		if i < 0 {
			return start
		}
		block := buf[start : start+i+1]
		start += i + 2
		data := (*scratch)[:0]
		has := false
		for len(block) > 0 {
			j := bytes.IndexByte(block, '\n')
			line := block[:j]
			block = block[j+1:]
			if !bytes.HasPrefix(line, []byte("data:")) {
				continue
			}
			v := line[5:]
			if len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			if has {
				data = append(data, '\n')
			}
			data = append(data, v...)
			has = true
		}
		*scratch = data
		if has {
			emit(data)
		}
	}
}
