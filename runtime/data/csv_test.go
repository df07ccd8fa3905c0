package data

import (
	"slices"
	"strings"
	"testing"
)

func TestReadCSVHeaderLabelName(t *testing.T) {
	in := "x1, y ,x2\n1.5,3,2\n\n-1,0,4e1\n"
	tab, err := ReadCSV(strings.NewReader(in), CSVOptions{Header: true, LabelName: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 2 || tab.Cols != 2 || tab.Label != "y" || !slices.Equal(tab.Names, []string{"x1", "x2"}) {
		t.Fatalf("table = %+v", tab)
	}
	if !slices.Equal(tab.Features, []float64{1.5, 2, -1, 40}) || !slices.Equal(tab.Labels, []int32{3, 0}) {
		t.Fatalf("features = %v, labels = %v", tab.Features, tab.Labels)
	}
}

func TestReadCSVVariants(t *testing.T) {
	// No header, label by index, class ids written as floats.
	tab, err := ReadCSV(strings.NewReader("0.5;1.0\n0.25;2\n"), CSVOptions{Comma: ';', LabelColumn: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.Labels, []int32{1, 2}) || !slices.Equal(tab.Features, []float64{0.5, 0.25}) || tab.Names[0] != "col0" {
		t.Fatalf("table = %+v", tab)
	}
	// Float targets.
	tab, err = ReadCSV(strings.NewReader("t,a\n0.5,1\n-2.5,2\n"), CSVOptions{Header: true, Labels: FloatTargets})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.Targets, []float64{0.5, -2.5}) || tab.Labels != nil {
		t.Fatalf("targets = %v, labels = %v", tab.Targets, tab.Labels)
	}
	// Named classes.
	tab, err = ReadCSV(strings.NewReader("1,setosa\n2,virginica\n3,setosa\n"), CSVOptions{LabelColumn: 1, Labels: NamedClasses})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.Labels, []int32{0, 1, 0}) || !slices.Equal(tab.Classes, []string{"setosa", "virginica"}) {
		t.Fatalf("labels = %v, classes = %v", tab.Labels, tab.Classes)
	}
	// No label column.
	tab, err = ReadCSV(strings.NewReader("# comment\n1,2\n3,4\n"), CSVOptions{NoLabel: true, Comment: '#'})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Cols != 2 || tab.N != 2 || tab.Label != "" || !slices.Equal(tab.Features, []float64{1, 2, 3, 4}) {
		t.Fatalf("table = %+v", tab)
	}
}

func TestReadCSVErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
		opt            CSVOptions
	}{
		{"bad feature", "a,b,label\n1,2,0\n1,oops,1\n", `line 3, column 3 (field 2, "b"): expected a number, found "oops"`, CSVOptions{Header: true, LabelName: "label"}},
		{"bad class", "label,a\n1.5,2\n", `line 2, column 1 (field 1, "label"): expected an integer class id, found "1.5"`, CSVOptions{Header: true}},
		{"empty cell", "0,1\n1,\n", `line 2, column 3 (field 2, "col1"): expected a number, found ""`, CSVOptions{}},
		{"ragged", "0,1,2\n1,2\n", "line 2: expected 3 fields like the first row, found 2", CSVOptions{}},
		{"missing name", "a,b\n1,2\n", `label column "y" not found`, CSVOptions{Header: true, LabelName: "y"}},
		{"name without header", "1,2\n", "needs a header row", CSVOptions{LabelName: "y"}},
		{"index range", "1,2\n", "LabelColumn 5 is out of range", CSVOptions{LabelColumn: 5}},
		{"negative index", "1,2\n", "LabelColumn -1 is out of range; line 1 has 2 columns", CSVOptions{LabelColumn: -1}},
		{"empty", "", "empty input", CSVOptions{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(c.in), c.opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, expected one containing %q", err, c.want)
			}
		})
	}
}
