# Thin aliases; the real command is ./scripts/test (see the README).
.PHONY: test quick
test:
	./scripts/test
quick:
	./scripts/test --quick
