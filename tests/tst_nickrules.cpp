#include "nickrules.h"

#include <QTest>

using namespace Qt::StringLiterals;

class TestNickRules : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void normalize_data();
    void normalize();
    void validity_data();
    void validity();
    void shorterLimit();
    void caseKey_data();
    void caseKey();
    void lookAlikes_data();
    void lookAlikeKeys_data();
    void lookAlikeKeys();
    void lookAlikes();
};

void TestNickRules::normalize_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("normalized");

    QTest::newRow("unchanged") << u"alice"_s << u"alice"_s;
    QTest::newRow("spaces at both ends") << u"  alice  "_s << u"alice"_s;
    QTest::newRow("tabs at both ends") << u"\talice\t"_s << u"alice"_s;
    QTest::newRow("inner space kept") << u" a b "_s << u"a b"_s;
    QTest::newRow("decomposed e acute composes") << u"rene\u0301"_s << u"ren\u00e9"_s;
    QTest::newRow("only spaces") << u"   "_s << QString();
}

void TestNickRules::normalize()
{
    QFETCH(QString, input);
    QFETCH(QString, normalized);

    QCOMPARE(NickRules::normalize(input), normalized);
}

void TestNickRules::validity_data()
{
    QTest::addColumn<QString>("nick");
    QTest::addColumn<bool>("valid");

    QTest::newRow("plain") << u"alice"_s << true;
    QTest::newRow("one character") << u"a"_s << true;
    QTest::newRow("digits only") << u"2024"_s << true;
    QTest::newRow("underscore, dash, dot") << u"a_b-c.d"_s << true;
    QTest::newRow("mixed case") << u"AliCe"_s << true;
    QTest::newRow("24 characters") << QString(24, u'n') << true;
    QTest::newRow("25 characters") << QString(25, u'n') << false;
    QString wide;
    for (int i = 0; i < 24; ++i)
        wide += u"\U00020000"_s; // a CJK letter outside the BMP: two UTF-16 units each
    QTest::newRow("24 letters beyond the BMP") << wide << true;
    QTest::newRow("25 letters beyond the BMP") << wide + u"\U00020000"_s << false;
    QTest::newRow("empty") << QString() << false;
    QTest::newRow("Cyrillic letters") << u"\u0410\u043b\u0438\u0441\u0430"_s << true;
    QTest::newRow("Japanese") << u"\u65e5\u672c\u8a9e"_s << true;
    QTest::newRow("accented") << u"ren\u00e9"_s << true;
    QTest::newRow("Arabic-Indic digits") << u"\u0661\u0662"_s << true;
    QTest::newRow("inner space") << u"al ice"_s << false;
    QTest::newRow("exclamation mark") << u"al!ce"_s << false;
    QTest::newRow("at sign") << u"alice@home"_s << false;
    QTest::newRow("angle brackets") << u"<b>"_s << false;
    QTest::newRow("emoji") << u"cat\U0001F408"_s << false;
    QTest::newRow("zero-width space") << u"ali\u200bce"_s << false;
    QTest::newRow("zero-width joiner") << u"ali\u200dce"_s << false;
    QTest::newRow("soft hyphen") << u"ali\u00adce"_s << false;
    QTest::newRow("right-to-left override") << u"\u202ealice"_s << false;
    QTest::newRow("control character") << u"ali\nce"_s << false;
    QTest::newRow("lone surrogate") << u"a"_s + QChar(0xd800) << false;
    QTest::newRow("reserved server") << u"server"_s << false;
    QTest::newRow("reserved host") << u"host"_s << false;
    QTest::newRow("reserved system") << u"system"_s << false;
    QTest::newRow("reserved admin") << u"admin"_s << false;
    QTest::newRow("reserved in another case") << u"ADMIN"_s << false;
    QTest::newRow("reserved mixed case") << u"SyStEm"_s << false;
    QTest::newRow("reserved in Cyrillic look-alikes") << u"\u0455\u0435rv\u0435r"_s << false;
    QTest::newRow("reserved in full-width letters") << u"\uff28\uff2f\uff33\uff34"_s << false;
    QTest::newRow("reserved with a Greek Eta") << u"\u0397ost"_s << false;
    QTest::newRow("reserved in mathematical bold") << u"\U0001d42c\U0001d41e\U0001d42b\U0001d42f"
                                                      u"\U0001d41e\U0001d42b"_s
                                                   << false;
    QTest::newRow("reserved word inside a longer name") << u"admin2"_s << true;
    QTest::newRow("Hangul filler after a name") << u"alice\u3164"_s << false;
    QTest::newRow("Hangul filler alone") << u"\u3164"_s << false;
    QTest::newRow("half-width Hangul filler") << u"alice\uffa0"_s << false;
    QTest::newRow("Hangul choseong and jungseong fillers") << u"\u115f\u1160"_s << false;
    QTest::newRow("variation selector") << u"alice\ufe0f"_s << false;
    QTest::newRow("Devanagari with vowel signs and virama")
        << u"\u0915\u0943\u0937\u094d\u0923"_s << true;
    QTest::newRow("Tamil") << u"\u0ba4\u0bae\u0bbf\u0bb4\u0bcd"_s << true;
    QTest::newRow("Thai with stacked marks")
        << u"\u0e2a\u0e21\u0e28\u0e31\u0e01\u0e14\u0e34\u0e4c"_s << true;
    QTest::newRow("mark opening the name") << u"\u0301alice"_s << false;
    QTest::newRow("mark on a dot") << u"a.\u0301b"_s << false;
    QTest::newRow("four marks on one letter") << u"x\u0300\u0301\u0302\u0303"_s << true;
    QTest::newRow("five marks on one letter") << u"x\u0300\u0301\u0302\u0303\u0304"_s << false;
    QTest::newRow("hostname") << u"hostname"_s << true;
}

void TestNickRules::validity()
{
    QFETCH(QString, nick);
    QFETCH(bool, valid);

    const NickRules rules;
    QCOMPARE(rules.isValid(NickRules::normalize(nick)), valid);
}

void TestNickRules::shorterLimit()
{
    const NickRules rules(8);
    QVERIFY(rules.isValid(u"abcdefgh"_s));
    QVERIFY(!rules.isValid(u"abcdefghi"_s));
}

void TestNickRules::caseKey_data()
{
    QTest::addColumn<QString>("a");
    QTest::addColumn<QString>("b");
    QTest::addColumn<bool>("same");

    QTest::newRow("upper and lower") << u"ALICE"_s << u"alice"_s << true;
    QTest::newRow("mixed") << u"aLiCe"_s << u"AlIcE"_s << true;
    QTest::newRow("Cyrillic case")
        << u"\u0410\u041b\u0418\u0421\u0410"_s << u"\u0430\u043b\u0438\u0441\u0430"_s << true;
    QTest::newRow("Greek final sigma")
        << u"\u03c3\u03bf\u03c2"_s << u"\u03a3\u039f\u03a3"_s << true;
    QTest::newRow("different names") << u"alice"_s << u"alicia"_s << false;
    QTest::newRow("digits differ") << u"bob1"_s << u"bob2"_s << false;
}

void TestNickRules::caseKey()
{
    QFETCH(QString, a);
    QFETCH(QString, b);
    QFETCH(bool, same);

    QCOMPARE(NickRules::caseKey(a) == NickRules::caseKey(b), same);
}

void TestNickRules::lookAlikes_data()
{
    QTest::addColumn<QString>("a");
    QTest::addColumn<QString>("b");
    QTest::addColumn<bool>("collide");

    QTest::newRow("identical") << u"alice"_s << u"alice"_s << true;
    QTest::newRow("case") << u"Alice"_s << u"aLICE"_s << true;
    QTest::newRow("Cyrillic a in alice") << u"alice"_s << u"\u0430lice"_s << true;
    QTest::newRow("Cyrillic o in bob") << u"bob"_s << u"b\u043eb"_s << true;
    QTest::newRow("Cyrillic e and o in joe") << u"joe"_s << u"j\u043e\u0435"_s << true;
    QTest::newRow("Greek omicron") << u"bob"_s << u"b\u03bfb"_s << true;
    QTest::newRow("full-width alice") << u"alice"_s << u"\uff41\uff4c\uff49\uff43\uff45"_s << true;
    QTest::newRow("full-width capitals")
        << u"ALICE"_s << u"\uff21\uff2c\uff29\uff23\uff25"_s << true;
    QTest::newRow("full-width digits") << u"user123"_s << u"user\uff11\uff12\uff13"_s << true;
    QTest::newRow("precomposed and decomposed")
        << u"ren\u00e9"_s << NickRules::normalize(u"rene\u0301"_s) << true;
    QTest::newRow("different names") << u"alice"_s << u"bob"_s << false;
    QTest::newRow("one letter more") << u"alice"_s << u"alicee"_s << false;
    QTest::newRow("different Cyrillic names")
        << u"\u0410\u043b\u0438\u0441\u0430"_s << u"\u0411\u043e\u0440\u0438\u0441"_s << false;
}

void TestNickRules::lookAlikes()
{
    QFETCH(QString, a);
    QFETCH(QString, b);
    QFETCH(bool, collide);

    const NickRules rules;
    const QString skeletonA = rules.skeleton(a);
    const QString skeletonB = rules.skeleton(b);
    QVERIFY(!skeletonA.isEmpty());
    QVERIFY2((skeletonA == skeletonB) == collide,
             qPrintable(u"skeletons '%1' and '%2'"_s.arg(skeletonA, skeletonB)));
}

void TestNickRules::lookAlikeKeys_data()
{
    QTest::addColumn<QString>("a");
    QTest::addColumn<QString>("b");
    QTest::addColumn<bool>("collide");

    QTest::newRow("capital I for small l") << u"Ian"_s << u"lan"_s << true;
    QTest::newRow("capital I inside") << u"bILL"_s << u"blll"_s << true;
    QTest::newRow("digit one for small l") << u"pau1"_s << u"paul"_s << true;
    QTest::newRow("case") << u"Alice"_s << u"aLICE"_s << true;
    QTest::newRow("Cyrillic a") << u"alice"_s << u"\u0430lice"_s << true;
    QTest::newRow("small i and small l differ") << u"ian"_s << u"lan"_s << false;
    QTest::newRow("different names") << u"alice"_s << u"bob"_s << false;
}

void TestNickRules::lookAlikeKeys()
{
    QFETCH(QString, a);
    QFETCH(QString, b);
    QFETCH(bool, collide);

    const NickRules rules;
    const QStringList keysA = rules.lookAlikeKeys(a);
    const QStringList keysB = rules.lookAlikeKeys(b);
    bool meet = false;
    for (const QString &key : keysA)
        meet = meet || keysB.contains(key);
    QVERIFY2(meet == collide,
             qPrintable(u"keys [%1] and [%2]"_s.arg(keysA.join(u", "_s), keysB.join(u", "_s))));
}

QTEST_GUILESS_MAIN(TestNickRules)
#include "tst_nickrules.moc"
