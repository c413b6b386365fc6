# Sourced by ./bitnet4j and ./run-tests: finds a JDK >= 25 and exports JAVA_HOME / JAVA.
# Order: $JAVA_HOME if it is new enough, then the usual JDK folders, then java on PATH.

bitnet4j_java_major() { # prints the feature version of the java binary $1, or nothing
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p' | head -n 1
}

bitnet4j_find_jdk() {
  local candidates=() c v
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for c in /usr/lib/jvm/* /opt/java/* /opt/jdk* /usr/local/lib/jvm/* /Library/Java/JavaVirtualMachines/*/Contents/Home "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*; do
    [ -d "$c" ] && candidates+=("$c")
  done
  if command -v java >/dev/null 2>&1; then
    c=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    candidates+=("$c")
  fi
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    v=$(bitnet4j_java_major "$c/bin/java")
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

if ! BITNET4J_JDK=$(bitnet4j_find_jdk); then
  echo "bitnet4j needs a JDK 25 or newer (javac and the jdk.incubator.vector module) and found none." >&2
  echo "Install one, for example: apt-get install temurin-25-jdk (Adoptium repository) or openjdk-25-jdk," >&2
  echo "or point JAVA_HOME at an existing JDK 25 installation." >&2
  exit 1
fi
export JAVA_HOME="$BITNET4J_JDK"
export JAVA="$JAVA_HOME/bin/java"
export PATH="$JAVA_HOME/bin:$PATH"
# Maven 3.8 on JDK 25 warns about its own (Guava) use of sun.misc.Unsafe; that noise is not ours
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"

bitnet4j_need_maven() {
  if ! command -v mvn >/dev/null 2>&1; then
    echo "bitnet4j builds with Apache Maven 3.8 or newer and found no 'mvn' on PATH." >&2
    echo "Install it, for example: apt-get install maven" >&2
    exit 1
  fi
}
