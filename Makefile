# Systole build, test and maintenance targets. Run `make help` for a list.
GO      ?= go
PREFIX  ?= /usr/local
OCF_ROOT ?= /usr/lib/ocf
BIN     := bin
PROTOS  := $(wildcard proto/*/v1/*.proto)
TEST_TIMEOUT ?= 14m

.PHONY: all help build test test-short verify proto install fuzz bench-cib bench-cib-lib clean demo bench-pengine-clones bench-lab e2e-lab bench-failover e2e-cluster soak-idle soak-crm soak-tengine bench-tengine e2e-splitbrain e2e-fencing bench-fencing fuzz-long sim-summary cts

all: build

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build every binary into ./bin
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

test: ## the test run CI does (unit, golden, simulator, end-to-end); needs root for e2e
	$(GO) test -timeout $(TEST_TIMEOUT) -count=1 ./...

test-short: ## unit tests only, no end-to-end
	$(GO) test -short -count=1 ./...

verify: ## gofmt, go vet, go mod tidy and generated protobuf code are clean
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@cp go.mod /tmp/systole-go.mod.bak; cp go.sum /tmp/systole-go.sum.bak; \
	  $(GO) mod tidy; \
	  if ! git diff --quiet -- go.mod go.sum; then echo "go mod tidy changes go.mod/go.sum:"; git diff -- go.mod go.sum; exit 1; fi
	@$(MAKE) --no-print-directory proto
	@if ! git diff --quiet -- proto; then echo "generated protobuf code is stale (run make proto):"; git diff --stat -- proto; exit 1; fi
	@if [ -n "$$(git status --porcelain -- proto)" ]; then echo "untracked generated files:"; git status --porcelain -- proto; exit 1; fi
	@echo verify: ok

proto: ## regenerate protobuf/gRPC code with Debian's protoc and the plugins pinned in go.mod
	protoc -I proto -I /usr/include \
	  --plugin=protoc-gen-go=$$($(GO) tool -n protoc-gen-go) \
	  --plugin=protoc-gen-go-grpc=$$($(GO) tool -n protoc-gen-go-grpc) \
	  --go_out=proto --go_opt=paths=source_relative \
	  --go-grpc_out=proto --go-grpc_opt=paths=source_relative \
	  $(patsubst proto/%,%,$(PROTOS))

install: build ## install binaries into $(PREFIX)/bin and agents under $(OCF_ROOT)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN)/* $(DESTDIR)$(PREFIX)/bin/
	@if [ -d agents/ocf ]; then install -d $(DESTDIR)$(OCF_ROOT)/resource.d/systole; \
	  for a in agents/ocf/*; do [ -f "$$a" ] && install -m 0755 "$$a" $(DESTDIR)$(OCF_ROOT)/resource.d/systole/; done; fi
	$(GO) build -o $(BIN)/.systole-ra ./agents/cmd/systole-ra
	install -d $(DESTDIR)$(OCF_ROOT)/resource.d/systole
	install -m 0755 $(BIN)/.systole-ra $(DESTDIR)$(OCF_ROOT)/resource.d/systole/.systole-ra
	for a in Dummy IPaddr Stateful anything ping; do ln -sf .systole-ra $(DESTDIR)$(OCF_ROOT)/resource.d/systole/$$a; done

FUZZTIME ?= 30s
fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

bench-cib-lib: ## CIB library: modify+diff+persist benchmark (16 nodes, 5000 resources)
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./cib/

demo: ## 3 nodes on loopback (no root), the example CIB loaded, crm_mon live; Ctrl-C stops and removes everything
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/... ./agents/cmd/systole-ra
	@examples/demo.sh $(BIN)

clean:
	rm -rf $(BIN)

bench-lrm: ## lrmd benchmarks: actions/s with a no-op agent, lateness of 100 recurring 1 s monitors
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 10m ./lrm/server/

bench-clique: ## membership maximum-clique search at 16/32/64 nodes
	$(GO) test -run '^$$' -bench MaxClique ./membership/

bench-membership-sim: ## simulated failover (virtual time): crash -> new view on every survivor, 3/16/64 nodes
	$(GO) test -run '^$$' -bench Failover -benchtime 1x -v ./internal/sim/ | grep -E '^ *failover_test.go|view_ms nodes'

bench-cib-server: ## CIB service: one small create per gRPC call (mem store, bbolt fsync) and 16 concurrent writers (group commit)
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./cib/server/

bench-messaging: ## messagingd in network namespaces (root): throughput, latency, idle CPU (16 peers), failure detection
	@out=$$(SYSTOLE_BENCH=1 $(GO) test -count=1 -timeout 20m -run '^TestBenchMessaging$$' -v ./messaging/e2e/ 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ]; then echo "$$out" | tail -50; exit $$rc; fi; \
	  echo "$$out" | grep -E '^(throughput|latency|idle_cpu|detect_ms) '

PENGINE_BENCH_DIR ?= /tmp/systole-bench-pengine
bench-pengine: ## policy engine speed: ours vs Pacemaker's crm_simulate on 16x1000, 16x5000, 64x1000 generated CIBs
	@mkdir -p $(PENGINE_BENCH_DIR)
	$(GO) build -o $(PENGINE_BENCH_DIR)/crm_simulate ./cmd/crm_simulate
	@for nr in 16:1000 16:5000 64:1000; do n=$${nr%%:*}; r=$${nr##*:}; f=$(PENGINE_BENCH_DIR)/big-$${n}x$${r}.xml; \
	  [ -f $$f ] || python3 ../shared/bin/gen_big_cib.py -n $$n -r $$r -o $$f -q; \
	  /usr/bin/time -f "systole   $${n}x$${r}: %e s wall, %M KiB max RSS" $(PENGINE_BENCH_DIR)/crm_simulate -x $$f -R >/dev/null; \
	  if [ -x /usr/sbin/crm_simulate ] && [ -z "$(SKIP_PACEMAKER)" ]; then \
	    /usr/bin/time -f "pacemaker $${n}x$${r}: %e s wall, %M KiB max RSS" sh -c "/usr/sbin/crm_simulate -x $$f -R >/dev/null 2>&1" || true; fi; \
	done

e2e-membership: ## membershipd end to end in network namespaces (root): 5 nodes partitioned 3|2 and healed, daemon restarts, two_node, 16 nodes
	@out=$$($(GO) test -count=1 -timeout 10m -run 'TestFiveNodes|TestSixteenNodes|TestTwoNode' -v ./membership/e2e/ 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ]; then echo "$$out" | tail -80; exit $$rc; fi; \
	  echo "$$out" | grep -E '^ *(--- |cluster_test.go)'

NODES ?= 16
KILLS ?= 10
bench-membership: ## membershipd failover in namespaces (root): kill a node -> new view on every survivor (NODES=16 KILLS=10)
	@out=$$(SYSTOLE_BENCH=1 NODES=$(NODES) KILLS=$(KILLS) $(GO) test -count=1 -timeout 20m -run '^TestBenchMembership$$' -v ./membership/e2e/ 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ]; then echo "$$out" | tail -80; exit $$rc; fi; \
	  echo "$$out" | grep -E '^ *bench_test.go|^(formation_ms|view_ms) '

CIB_WRITES ?= 1000
DC_KILLS ?= 5
bench-cib: ## crmd on 3 real nodes in namespaces (root): sequential cibadmin writes/s, replication p50, DC failover (CIB_WRITES=1000 DC_KILLS=5)
	@out=$$(SYSTOLE_BENCH=1 CIB_WRITES=$(CIB_WRITES) DC_KILLS=$(DC_KILLS) $(GO) test -count=1 -timeout 20m -run '^TestBenchCIB$$' -v ./crm/e2e/ 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ]; then echo "$$out" | tail -80; exit $$rc; fi; \
	  echo "$$out" | grep -E '^ *benchcib_test.go|^cib_writes_per_s='

CRM_SEEDS ?= 5000
soak-crm: ## crm core simulator soak: CRM_SEEDS random crash/partition schedules per no-quorum policy (stop, ignore) and CRM_SEEDS/20 on bbolt
	CRM_SEEDS=$(CRM_SEEDS) $(GO) test -count=1 -timeout 120m -run '^TestRandomSchedules' -v ./crm/ 2>&1 | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|seeds'

bench-pengine-clones: ## policy engine speed with clones: ours vs Pacemaker's crm_simulate on 16 nodes x 500 clones (pengine/testdata/gen_bench_clones.py)
	@mkdir -p $(PENGINE_BENCH_DIR)
	$(GO) build -o $(PENGINE_BENCH_DIR)/crm_simulate ./cmd/crm_simulate
	@f=$(PENGINE_BENCH_DIR)/clones-16x500.xml; \
	  [ -f $$f ] || python3 pengine/testdata/gen_bench_clones.py -n 16 -c 500 -o $$f; \
	  /usr/bin/time -f "systole   16x500 clones: %e s wall, %M KiB max RSS" $(PENGINE_BENCH_DIR)/crm_simulate -x $$f -R >/dev/null; \
	  if [ -x /usr/sbin/crm_simulate ] && [ -z "$(SKIP_PACEMAKER)" ]; then \
	    /usr/bin/time -f "pacemaker 16x500 clones: %e s wall, %M KiB max RSS" sh -c "/usr/sbin/crm_simulate -x $$f -R >/dev/null 2>&1" || true; fi

e2e-lab: ## the lab and systoled end to end (loopback without root; namespace tests as root)
	$(GO) test -count=1 -v ./internal/lab/ ./supervisor/... ./cmd/systoled/

TENGINE_BENCH_DIR ?= /tmp/systole-bench-tengine
bench-tengine: ## transition engine on a 1000-action graph and a 16x1000 failover graph; pengine Compute through the daemon on 16x100
	@mkdir -p $(TENGINE_BENCH_DIR)
	$(GO) build -o $(TENGINE_BENCH_DIR)/crm_simulate ./cmd/crm_simulate
	@[ -f $(TENGINE_BENCH_DIR)/big-16x100.xml ] || python3 ../shared/bin/gen_big_cib.py -n 16 -r 100 -o $(TENGINE_BENCH_DIR)/big-16x100.xml -q
	@[ -f $(TENGINE_BENCH_DIR)/big-16x1000.xml ] || python3 ../shared/bin/gen_big_cib.py -n 16 -r 1000 -o $(TENGINE_BENCH_DIR)/big-16x1000.xml -q
	@$(TENGINE_BENCH_DIR)/crm_simulate -x $(TENGINE_BENCH_DIR)/big-16x1000.xml -G $(TENGINE_BENCH_DIR)/graph-16x1000.xml >/dev/null
	TENGINE_BENCH_GRAPH=$(TENGINE_BENCH_DIR)/graph-16x1000.xml $(GO) test -run '^$$' -bench . -benchtime 50x ./tengine/
	PENGINE_BENCH_CIB=$(TENGINE_BENCH_DIR)/big-16x100.xml $(GO) test -run '^$$' -bench . -benchtime 50x ./pengine/server/

TENGINE_SEEDS ?= 1000
soak-tengine: ## DC pipeline simulator soak: TENGINE_SEEDS random fault schedules (crm + pengine + tengine + simulated lrms)
	TENGINE_SEEDS=$(TENGINE_SEEDS) $(GO) test -count=1 -timeout 120m -run '^TestConvergence$$' -v ./tengine/ 2>&1 | grep -E '^(--- |ok|FAIL|PASS)|seeds|seed '

bench-lab: ## 3 loopback nodes: systoled start -> daemons up, DC, demo resources running (ms); idle RSS of a node's stack
	@out=$$(SYSTOLE_BENCH=1 $(GO) test -count=1 -timeout 10m -run '^TestBenchStart$$' -v ./internal/lab/ 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ]; then echo "$$out" | tail -60; exit $$rc; fi; \
	  echo "$$out" | grep -E '^(start_ms|idle_rss) '

e2e-cluster: ## whole-cluster end-to-end tests in network namespaces (root): failover of an IPaddr+Dummy group, DC loss, monitor failure, migration-threshold, standby, constraints, crm_resource move/ban/clear
	$(GO) test -count=1 -timeout 10m -v ./e2e/

RUNS ?= 10
bench-failover: ## 3 nodes in namespaces (root): node power-off -> VIP answers (KILLS per case: resource node, DC), membership view -> VIP, monitor failure -> restart, start -> running, idle RSS
	@d=$$(mktemp -d /tmp/systole-bench-failover.XXXXXX); trap 'rm -rf $$d' EXIT; \
	  $(GO) build -o $$d/ ./cmd/... ./agents/cmd/systole-ra || exit 1; \
	  out=$$(SYSTOLE_LAB_BIN=$$d SYSTOLE_BENCH=1 KILLS=$(KILLS) RUNS=$(RUNS) $(GO) test -count=1 -timeout 30m -run '^(TestBenchFailover|TestBenchMonitorFailure)$$' -v ./e2e/ 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ]; then echo "$$out" | tail -80; exit $$rc; fi; \
	  echo "$$out" | grep -E '^(kill|failover_ms|view_to_vip_ms|pengine_compute_ms|monitor_failure|monitor_failure_restart_ms) '; \
	  out=$$(SYSTOLE_LAB_BIN=$$d SYSTOLE_BENCH=1 SYSTOLE_BENCH_NETNS=1 RUNS=3 $(GO) test -count=1 -timeout 10m -run '^TestBenchStart$$' -v ./internal/lab/ 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ]; then echo "$$out" | tail -60; exit $$rc; fi; \
	  echo "$$out" | grep -E '^(start_ms|idle_rss) '

SOAK ?= 10m
soak-idle: ## 3 idle nodes in namespaces (root) for SOAK with every CPU busy (nice 19 spinners): views installed, DC elections, resource starts/stops (goal 0 view changes)
	@out=$$(SYSTOLE_BENCH=1 SOAK=$(SOAK) $(GO) test -count=1 -timeout 60m -run '^TestBenchIdleSoak$$' -v ./e2e/ 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ]; then echo "$$out" | tail -80; exit $$rc; fi; \
	  echo "$$out" | grep -E '^idle_soak '

e2e-splitbrain: ## 2-node split brain in namespaces (root): the link cut, exactly one node fenced, the VIP never on both sides (10 ms ARP probes); ends with "splitbrain overlap_ms=X fenced=N survivor=NODE"
	@out=$$($(GO) test -count=1 -timeout 10m -run '^TestSplitBrain$$' -v ./e2e/ 2>&1); rc=$$?; \
	  echo "$$out" | grep -v '^splitbrain '; \
	  echo "$$out" | grep '^splitbrain ' | tail -1; exit $$rc

e2e-fencing: ## fencing end to end in namespaces (root): a lost node fenced before its resources are recovered, a failing agent, Debian's fence_dummy, and the split brain
	$(GO) test -count=1 -timeout 10m -run '^(TestFencing|TestSplitBrain)$$' -v ./e2e/

bench-fencing: ## 3 nodes in namespaces (root): group failover with fencing on vs off (KILLS per case), the fencing operation's time (FENCE_DEVICE=fence_dummy: Debian's agent instead of the lab's)
	@d=$$(mktemp -d /tmp/systole-bench-fencing.XXXXXX); trap 'rm -rf $$d' EXIT; \
	  $(GO) build -o $$d/ ./cmd/... ./agents/cmd/systole-ra || exit 1; \
	  out=$$(SYSTOLE_LAB_BIN=$$d SYSTOLE_BENCH=1 KILLS=$(KILLS) FENCE_DEVICE=$(FENCE_DEVICE) $(GO) test -count=1 -timeout 30m -run '^TestBenchFencingFailover$$' -v ./e2e/ 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ]; then echo "$$out" | tail -80; exit $$rc; fi; \
	  echo "$$out" | grep -E '^(kill|fencing_failover_ms|fence_op_ms|fenced_to_ip_start_ms) '

FUZZ_LONG_TARGETS := ./messaging/:FuzzDecode ./messaging/:FuzzBody ./cib/:FuzzParse ./cib/:FuzzApplyPatch ./messaging/:FuzzParseHaCf ./messaging/:FuzzParseAuthkeys ./agents/metadata/:FuzzValidate
FUZZ_PARALLEL ?= 1
fuzz-long: FUZZTIME = 10m
fuzz-long: ## the decoders of untrusted input (packets, CIB XML, patches, ha.cf, authkeys, agent meta-data), FUZZTIME (10m) each, one at a time, nice 19
	@for t in $(FUZZ_LONG_TARGETS); do pkg=$${t%%:*}; f=$${t##*:}; \
	  echo "== $$pkg $$f $(FUZZTIME)"; \
	  nice -n 19 $(GO) test -run=NONE -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) -parallel=$(FUZZ_PARALLEL) $$pkg || exit 1; \
	done

SIM_TESTS := ^(TestRandomSchedules.*|TestRandomTwoNodeSchedules|TestSimRandomFaults|TestSimLargeCluster|TestConvergence)$$
sim-summary: ## every random-schedule simulator (membership, messaging, crm, tengine, stonith, lrm): their `sim:` lines and the total
	@$(GO) test -count=1 -v -run '$(SIM_TESTS)' ./internal/sim/ ./messaging/ ./crm/ ./tengine/ ./stonith/ ./lrm/ 2>&1 | \
	  awk '/^sim: /{print; split($$3,a,"="); split($$4,b,"="); n+=a[2]; v+=b[2]} /^(--- FAIL|FAIL)/{print; bad=1} \
	  END{printf "sim: total schedules=%d violations=%d\n", n, v; exit bad || v > 0}'

ITER ?= 20
SEED ?=
CTS_FLAGS ?=
# NODES is shared with bench-membership (16): cts takes it only from the command line, else 3
CTS_NODES = $(if $(filter command line environment,$(origin NODES)),$(NODES),3)
cts: ## cluster test suite (root): ITER random tests on NODES nodes in namespaces, SEED replays a run; CTS_FLAGS e.g. --stonith
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/... ./agents/cmd/systole-ra
	$(BIN)/systole cts --bin-dir $(BIN) --iterations $(ITER) --nodes $(CTS_NODES) $(if $(SEED),--seed $(SEED)) $(CTS_FLAGS)
