using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations
{
    /// <inheritdoc />
    public partial class HelmReleaseChart : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Chart",
                table: "Workloads",
                type: "TEXT",
                maxLength: 300,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Chart",
                table: "Workloads");
        }
    }
}
