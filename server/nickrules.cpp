#include "nickrules.h"

#include "protocol.h"

#include <unicode/uchar.h>
#include <unicode/uspoof.h>

using namespace Qt::StringLiterals;

namespace {
// Scripts such as Devanagari, Tamil and Thai write vowels and virama as marks after a letter;
// a longer run of marks only stacks up over its neighbours.
constexpr int MaxMarksInARow = 4;

bool isLetterOrDigit(QChar::Category category)
{
    switch (category) {
    case QChar::Letter_Uppercase:
    case QChar::Letter_Lowercase:
    case QChar::Letter_Titlecase:
    case QChar::Letter_Modifier:
    case QChar::Letter_Other:
    case QChar::Number_DecimalDigit:
        return true;
    default:
        return false;
    }
}
} // namespace

NickRules::NickRules(int maxLength)
    : m_maxLength(maxLength)
{
    UErrorCode status = U_ZERO_ERROR;
    m_checker = uspoof_open(&status);
    if (U_FAILURE(status)) {
        m_checker = nullptr;
        return;
    }
    // Only the confusable skeleton is used; the character rules are the protocol's own.
    uspoof_setChecks(m_checker, USPOOF_CONFUSABLE, &status);

    for (const QString &word : {u"server"_s, u"host"_s, u"system"_s, u"admin"_s})
        m_reservedKeys.append(lookAlikeKeys(word));
}

NickRules::~NickRules()
{
    if (m_checker)
        uspoof_close(m_checker);
}

QString NickRules::normalize(const QString &nick)
{
    return nick.trimmed().normalized(QString::NormalizationForm_C);
}

bool NickRules::isValid(const QString &nick) const
{
    return isValid(nick, lookAlikeKeys(nick));
}

bool NickRules::isValid(const QString &nick, const QStringList &lookAlikeKeys) const
{
    const int length = Protocol::codePointLength(nick);
    if (length < 1 || length > m_maxLength)
        return false;

    int marksInARow = 0;
    bool afterLetter = false; // the code point before is a letter or digit, or a mark on one
    for (const uint c : nick.toUcs4()) {
        // Letters that show nothing (U+3164 Hangul filler, U+FFA0) are letters to Unicode.
        if (u_hasBinaryProperty(UChar32(c), UCHAR_DEFAULT_IGNORABLE_CODE_POINT))
            return false;
        const QChar::Category category = QChar::category(char32_t(c));
        if (category == QChar::Mark_NonSpacing || category == QChar::Mark_SpacingCombining) {
            if (!afterLetter || ++marksInARow > MaxMarksInARow)
                return false;
            continue;
        }
        marksInARow = 0;
        afterLetter = isLetterOrDigit(category);
        if (!afterLetter && c != u'_' && c != u'-' && c != u'.')
            return false;
    }

    // A reserved name in look-alikes (a Cyrillic "ѕеrvеr", a full-width "ＨＯＳＴ") is
    // reserved too: those names are where a user would look for the host's voice.
    for (const QString &key : lookAlikeKeys) {
        if (m_reservedKeys.contains(key))
            return false;
    }
    return true;
}

QString NickRules::caseKey(const QString &nick)
{
    return nick.toCaseFolded();
}

QString NickRules::skeleton(const QString &nick) const
{
    // Compatibility forms (full-width letters, ligatures) fold first, then case, then the
    // confusables: "ＡLICE", "alice" and "аlice" with a Cyrillic a all meet on one key.
    const QString folded = nick.normalized(QString::NormalizationForm_KC).toCaseFolded();
    return confusableSkeleton(folded).toCaseFolded();
}

QStringList NickRules::lookAlikeKeys(const QString &nick) const
{
    QStringList keys {skeleton(nick)};
    // Case folding first hides that a capital I passes for a small l ("Ian", "lan"); the
    // confusables applied to the name as written catch that.
    const QString asWritten
        = confusableSkeleton(nick.normalized(QString::NormalizationForm_KC)).toCaseFolded();
    if (asWritten != keys.constFirst())
        keys.append(asWritten);
    return keys;
}

QString NickRules::confusableSkeleton(const QString &text) const
{
    if (!m_checker)
        return text;

    UErrorCode status = U_ZERO_ERROR;
    QString out(text.size() * 2 + 8, Qt::Uninitialized);
    const auto source = reinterpret_cast<const UChar *>(text.utf16());
    int32_t length
        = uspoof_getSkeleton(m_checker, 0, source, int32_t(text.size()),
                             reinterpret_cast<UChar *>(out.data()), int32_t(out.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
        status = U_ZERO_ERROR;
        out.resize(length);
        length = uspoof_getSkeleton(m_checker, 0, source, int32_t(text.size()),
                                    reinterpret_cast<UChar *>(out.data()), int32_t(out.size()),
                                    &status);
    }
    if (U_FAILURE(status))
        return text;
    out.resize(length);
    return out;
}
