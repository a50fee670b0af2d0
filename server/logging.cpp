#include "logging.h"

Q_LOGGING_CATEGORY(lcServer, "lanchat.server", QtInfoMsg)
Q_LOGGING_CATEGORY(lcHttp, "lanchat.http", QtInfoMsg)
Q_LOGGING_CATEGORY(lcStore, "lanchat.store", QtInfoMsg)
