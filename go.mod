module github.com/crowdrisk/crowdrisk

go 1.26.8
