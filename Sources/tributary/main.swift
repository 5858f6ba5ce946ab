import TributaryCLI

await TributaryMain.main()
