#include "uilogging.h"

Q_LOGGING_CATEGORY(lcUi, "lanchat.ui", QtInfoMsg)
