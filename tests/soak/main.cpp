// Soak test of the real LanChat server: many clients on 127.0.0.1 coming and going while the
// ones that stay chat, for a set time. See docs/SOAK.md.

#include "soakrun.h"

#include <QCommandLineParser>
#include <QCoreApplication>

#include <cstdio>

#include <sys/resource.h>

using namespace Qt::StringLiterals;

namespace {

// A thousand sockets here and a thousand in the server, which inherits this limit.
void raiseDescriptorLimit()
{
    rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

} // namespace

int main(int argc, char *argv[])
{
    raiseDescriptorLimit();
    QCoreApplication app(argc, argv);

    QCommandLineParser parser;
    parser.setApplicationDescription(u"Soak test of lanchat --headless on 127.0.0.1."_s);
    parser.addHelpOption();
    const SoakOptions defaults;
    parser.addOptions({
        {u"server"_s, u"The lanchat binary to run."_s, u"path"_s},
        {u"seconds"_s, u"How long to run (default %1)."_s.arg(defaults.seconds), u"n"_s},
        {u"clients"_s, u"Clients connected at any time (default %1)."_s.arg(defaults.clients),
         u"n"_s},
        {u"staying"_s,
         u"Of them, connected for the whole run (default %1)."_s.arg(defaults.staying), u"n"_s},
        {u"churn"_s, u"Joins and leaves a second, half of each (default %1)."_s.arg(defaults.churn),
         u"n"_s},
        {u"rooms"_s, u"Rooms (default %1)."_s.arg(defaults.rooms), u"n"_s},
        {u"rate"_s,
         u"Messages a second from the staying clients (default %1)."_s.arg(defaults.rate), u"n"_s},
        {u"no-history"_s, u"Run the server with --no-history."_s},
    });
    parser.process(app);

    SoakOptions options;
    options.serverPath = parser.value(u"server"_s);
    auto number = [&parser](const QString &name, int fallback, int minimum) {
        if (!parser.isSet(name))
            return fallback;
        bool ok = false;
        const int value = parser.value(name).toInt(&ok);
        if (!ok || value < minimum) {
            std::fprintf(stderr, "lanchat_soak: --%s takes a number of at least %d\n",
                         qPrintable(name), minimum);
            std::exit(2);
        }
        return value;
    };
    options.seconds = number(u"seconds"_s, options.seconds, 1);
    options.clients = number(u"clients"_s, options.clients, 2);
    options.staying = number(u"staying"_s, std::min(options.staying, options.clients - 1), 1);
    options.churn = number(u"churn"_s, options.churn, 2);
    options.rooms = number(u"rooms"_s, options.rooms, 1);
    options.rate = number(u"rate"_s, int(options.rate), 1);
    options.noHistory = parser.isSet(u"no-history"_s);
    if (options.serverPath.isEmpty() || options.staying >= options.clients) {
        std::fprintf(stderr, "lanchat_soak: needs --server, and --staying below --clients\n");
        return 2;
    }

    SoakRun run(options);
    return run.exec();
}
