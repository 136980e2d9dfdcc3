# shellcheck shell=bash
# Kafka 3.9 (KRaft, one node that is both broker and controller) from Maven Central jars:
# broker on 127.0.0.1:9092, controller on 127.0.0.1:9093, data and logs in .state/kafka.
# The 3.9 line because KafkaJS 2.2.4 needs protocol versions that Kafka 4.x removed (KIP-896).

KAFKA_VERSION=3.9.1
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
KAFKA_OUT="$KAFKA_DIR/kafka.out"   # JVM stdout/stderr and log4j WARN+
KAFKA_LOG="$KAFKA_DIR/server.log"  # log4j, all INFO+
KAFKA_HEAP="${KAFKA_HEAP:--Xms128m -Xmx512m}"

# The broker's JVM command line (without the main class), into the array KAFKA_JAVA.
kafka_java_cmd() {
  local heap
  read -r -a heap <<<"$KAFKA_HEAP"
  KAFKA_JAVA=(java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true "-Dlog4j.configuration=file:$KAFKA_DIR/log4j.properties"
    -cp "$KAFKA_LIBS/*")
}

kafka_java() {
  kafka_java_cmd
  "${KAFKA_JAVA[@]}" "$@"
}

# Resolve the broker's jars with Maven into .cache (once; the pom lists the versions).
kafka_install() {
  command -v java >/dev/null || ensure_pkgs openjdk-17-jre-headless
  command -v mvn >/dev/null || ensure_pkgs maven
  local stamp="$KAFKA_LIBS/.complete"
  [[ -f $stamp ]] && return 0
  local t0
  t0=$(now_ms)
  mkdir -p "$KAFKA_LIBS" "$STATE_DIR"
  mvn -B -q -f "$RIG_DIR/kafka/pom.xml" -Dmaven.repo.local="$CACHE_DIR/m2" \
    -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime >"$STATE_DIR/maven.log" 2>&1 ||
    fail_component kafka "resolving the broker's jars with Maven failed" "$STATE_DIR/maven.log"
  [[ -f $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar ]] ||
    fail_component kafka "kafka_2.13-$KAFKA_VERSION.jar missing after Maven" "$STATE_DIR/maven.log"
  touch "$stamp"
  log "kafka: resolved $KAFKA_VERSION jars into $KAFKA_LIBS ($(elapsed_since "$t0"))"
}

kafka_write_config() {
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_PROPS" <<EOF
# written by deploy/local/stack.sh: do not edit
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DIR/data
auto.create.topics.enable=true
delete.topic.enable=true
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.segment.bytes=67108864
log.retention.check.interval.ms=60000
EOF
  cat >"$KAFKA_DIR/log4j.properties" <<EOF
log4j.rootLogger=INFO, file, console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.Threshold=WARN
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KAFKA_LOG
log4j.appender.file.MaxFileSize=10MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
EOF
}

# Format the storage once, with a cluster id kept in .state/kafka/cluster.id.
kafka_format() {
  [[ -f $KAFKA_DIR/data/meta.properties ]] && return 0
  local id_file="$KAFKA_DIR/cluster.id"
  if [[ ! -s $id_file ]]; then
    kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1 >"$id_file" ||
      die "kafka: could not generate a cluster id"
  fi
  kafka_java kafka.tools.StorageTool format -t "$(cat "$id_file")" -c "$KAFKA_PROPS" \
    --ignore-formatted >"$KAFKA_DIR/format.log" 2>&1 ||
    fail_component kafka "formatting the storage failed" "$KAFKA_DIR/format.log"
  log "kafka: formatted storage (cluster $(cat "$id_file"))"
}

kafka_pid() {
  local pid
  pid=$(read_pid "$KAFKA_PIDFILE")
  if [[ -n $pid ]] && pid_cmd_has "$pid" "kafka.Kafka $KAFKA_PROPS"; then printf '%s' "$pid"; fi
}

kafka_up() {
  local t0 pid
  t0=$(now_ms)
  kafka_install
  mkdir -p "$KAFKA_DIR"
  pid=$(kafka_pid)
  if [[ -n $pid ]]; then
    wait_for kafka "$WAIT_SECONDS" "$KAFKA_OUT" "$pid" tcp_open 127.0.0.1 "$KAFKA_PORT"
    log "kafka: already running on 127.0.0.1:$KAFKA_PORT (pid $pid)"
    return 0
  fi
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if tcp_open 127.0.0.1 "$port"; then die "kafka: port 127.0.0.1:$port is taken by another process"; fi
  done
  kafka_write_config
  kafka_format
  : >"$KAFKA_OUT"
  kafka_java_cmd
  start_bg "$KAFKA_OUT" "$KAFKA_PIDFILE" "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_PROPS"
  pid=$(read_pid "$KAFKA_PIDFILE")
  wait_for kafka "$WAIT_SECONDS" "$KAFKA_OUT" "$pid" tcp_open 127.0.0.1 "$KAFKA_PORT"
  log "kafka: up on 127.0.0.1:$KAFKA_PORT (pid $pid, $(elapsed_since "$t0"))"
}

kafka_down() {
  local pid
  pid=$(kafka_pid)
  if [[ -n $pid ]]; then
    stop_pid kafka "$pid" 40
    log "kafka: stopped"
  else
    log "kafka: not running"
  fi
  rm -f "$KAFKA_PIDFILE"
}

kafka_status() {
  local pid
  pid=$(kafka_pid)
  if [[ -n $pid ]] && tcp_open 127.0.0.1 "$KAFKA_PORT"; then
    printf '%-10s up    127.0.0.1:%s (controller :%s, pid %s, Kafka %s)\n' kafka "$KAFKA_PORT" \
      "$KAFKA_CONTROLLER_PORT" "$pid" "$KAFKA_VERSION"
  else
    printf '%-10s DOWN  (127.0.0.1:%s)\n' kafka "$KAFKA_PORT"
    return 1
  fi
}
