from gan_cli.commands.dispatch import main

main()
