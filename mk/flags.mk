# Compiler and linker flags shared by every target (STYLE.md: warnings are
# errors). SANITIZE=1 builds with AddressSanitizer and UBSan.
PKGS := rdkafka jansson libsodium libmicrohttpd libpq libcurl
CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -pthread \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla
CPPFLAGS += -Ilib -Itests/support $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
	-I$(shell pg_config --includedir 2>/dev/null)
LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread
TEST_LIBS := -lcmocka
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=address,undefined
endif
