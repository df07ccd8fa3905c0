package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// LabelKind says how ReadCSV interprets the label column.
type LabelKind int

const (
	// ClassLabels parses labels as integer class ids into Table.Labels
	// ("3" and "3.0" are both class 3).
	ClassLabels LabelKind = iota
	// FloatTargets parses labels as float64 regression targets into
	// Table.Targets.
	FloatTargets
	// NamedClasses maps each distinct label string (e.g. "setosa") to a
	// class id in order of first appearance; Table.Classes lists the names.
	NamedClasses
)

// CSVOptions configures ReadCSV. The zero value reads comma-separated data
// without a header whose first column (index 0) holds integer class ids.
type CSVOptions struct {
	Comma       rune      // field separator; 0 means ','
	Comment     rune      // lines starting with it are ignored; 0 means none
	Header      bool      // the first record holds column names
	NoLabel     bool      // there is no label column: every column is a feature
	LabelColumn int       // index of the label column (0-based), used when LabelName is empty
	LabelName   string    // name of the label column; needs Header
	Labels      LabelKind // how to parse the label column
}

// Table is a numeric data set read by ReadCSV.
type Table struct {
	N        int       // number of rows (examples)
	Cols     int       // number of feature columns
	Names    []string  // feature column names (from the header, else "col<i>")
	Features []float64 // row-major N×Cols
	Label    string    // name of the label column ("" if none)
	Labels   []int32   // class ids when Labels is ClassLabels or NamedClasses
	Targets  []float64 // targets when Labels is FloatTargets
	Classes  []string  // class names by id, for NamedClasses
}

// ReadCSV reads a numeric CSV table: one label column (chosen by index or
// name, parsed as class ids or float targets, see CSVOptions) and float64
// feature columns. Empty lines are skipped; surrounding spaces in cells
// are ignored. A cell that is not a number is reported with its line and
// column.
func ReadCSV(r io.Reader, opt CSVOptions) (*Table, error) {
	cr := csv.NewReader(r)
	if opt.Comma != 0 {
		cr.Comma = opt.Comma
	}
	cr.Comment = opt.Comment
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	t := &Table{}
	var colNames []string
	labelCol := -1
	if !opt.NoLabel {
		labelCol = opt.LabelColumn
	}
	if opt.LabelName != "" && !opt.Header {
		return nil, fmt.Errorf("csv: LabelName %q needs a header row; set Header or use LabelColumn", opt.LabelName)
	}
	classID := map[string]int32{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				return nil, fmt.Errorf("csv: line %d: expected %d fields like the first row, found %d", pe.Line, cr.FieldsPerRecord, len(rec))
			}
			return nil, fmt.Errorf("csv: %w", err)
		}
		if colNames == nil {
			// First record: fix the layout.
			colNames = make([]string, len(rec))
			for i := range rec {
				if opt.Header {
					colNames[i] = strings.TrimSpace(rec[i])
				} else {
					colNames[i] = "col" + strconv.Itoa(i)
				}
			}
			if opt.LabelName != "" && !opt.NoLabel {
				labelCol = -1
				for i, name := range colNames {
					if name == opt.LabelName {
						labelCol = i
						break
					}
				}
				if labelCol < 0 {
					return nil, fmt.Errorf("csv: label column %q not found; header has %q", opt.LabelName, colNames)
				}
			}
			if !opt.NoLabel && (labelCol < 0 || labelCol >= len(rec)) {
				line, _ := cr.FieldPos(0)
				return nil, fmt.Errorf("csv: LabelColumn %d is out of range; line %d has %d columns", opt.LabelColumn, line, len(rec))
			}
			for i, name := range colNames {
				if i == labelCol {
					t.Label = name
				} else {
					t.Names = append(t.Names, name)
				}
			}
			t.Cols = len(t.Names)
			if opt.Header {
				continue
			}
		}
		for i, cell := range rec {
			cell = strings.TrimSpace(cell)
			if i != labelCol {
				v, err := strconv.ParseFloat(cell, 64)
				if err != nil {
					return nil, cellError(cr, i, colNames[i], cell, "a number")
				}
				t.Features = append(t.Features, v)
				continue
			}
			switch opt.Labels {
			case ClassLabels:
				id, err := strconv.ParseInt(cell, 10, 32)
				if err != nil {
					f, ferr := strconv.ParseFloat(cell, 64)
					if ferr != nil || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
						return nil, cellError(cr, i, colNames[i], cell, "an integer class id")
					}
					id = int64(f)
				}
				t.Labels = append(t.Labels, int32(id))
			case FloatTargets:
				v, err := strconv.ParseFloat(cell, 64)
				if err != nil {
					return nil, cellError(cr, i, colNames[i], cell, "a number")
				}
				t.Targets = append(t.Targets, v)
			case NamedClasses:
				id, ok := classID[cell]
				if !ok {
					id = int32(len(t.Classes))
					classID[cell] = id
					t.Classes = append(t.Classes, cell)
				}
				t.Labels = append(t.Labels, id)
			default:
				return nil, fmt.Errorf("csv: unknown LabelKind %d; expected ClassLabels, FloatTargets or NamedClasses", opt.Labels)
			}
		}
		t.N++
	}
	if colNames == nil {
		return nil, errors.New("csv: expected at least one row, found an empty input")
	}
	return t, nil
}

func cellError(cr *csv.Reader, col int, name, cell, want string) error {
	line, column := cr.FieldPos(col)
	return fmt.Errorf("csv: line %d, column %d (field %d, %q): expected %s, found %q", line, column, col+1, name, want, cell)
}
